// The CLI basics (exit codes, CLIError, ClusterOptions, --log-level, helpText) and the agent's
// command live in AgentCLI, which the lean `logship-agent` binary links alone.
@_exported import AgentCLI
