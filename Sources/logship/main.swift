import Foundation
import LogshipCLI

exit(await LogshipCommand.runMain())
