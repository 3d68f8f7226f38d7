import LogshipCLI

await LogshipCommand.runMain()
