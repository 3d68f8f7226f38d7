import Telemetry

/// A one-off blocking job (a reindex) run like a role: SIGTERM/SIGINT call `onStop`, and the
/// job winds down in its own way.
struct JobRole: BlockingRole {
    let body: @Sendable () throws -> Void
    let onStop: @Sendable () -> Void

    func run() throws { try body() }
    func stop() { onStop() }
}
