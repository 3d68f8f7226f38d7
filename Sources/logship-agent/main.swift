import AgentCLI
import Foundation

exit(await runCommand(AgentBinaryCommand.self))
