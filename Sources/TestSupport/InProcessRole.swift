import Logging
import ServiceLifecycle
import Telemetry

/// A role run inside the test's process, in the same kind of `ServiceGroup` the CLI runs it in
/// (the role on its own thread, its servers beside it), stopped by a graceful shutdown as
/// SIGTERM would stop it.
public final class InProcessRole: Sendable {
    let group: ServiceGroup
    let task: Task<Void, Error>

    public init(_ role: any BlockingRole, name: String, servers: [any Service] = [], deadline: Duration = .seconds(30),
                logger: Logger = Logger(label: "test")) {
        let group = makeRoleGroup(role: role, name: name, servers: servers, deadline: deadline, signals: [], logger: logger)
        self.group = group
        task = Task { try await group.run() }
    }

    /// Graceful shutdown; returns once the role has finished its own (flushed, committed, left),
    /// rethrowing its error.
    public func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// Waits for the role to end by itself (an error, or a role that finishes).
    public func wait() async throws { try await task.value }
}
