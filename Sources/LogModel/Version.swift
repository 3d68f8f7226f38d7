/// The version of logship: every binary's `--version`, every role's heartbeat and metrics.
public let logshipVersion = "0.1.0"
