import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// A role whose work loop blocks a thread — librdkafka polls, file reads, curl — and that
/// stops when asked: `stop()` only flags, `run()` then finishes its own shutdown (flush,
/// commit, save) and returns.
public protocol BlockingRole: Sendable {
    func run() throws
    func stop()
}

/// Runs a blocking role on a thread of its own as a `Service`: graceful shutdown (SIGTERM,
/// SIGINT, another service of the group ending) calls `stop()`, and `run()` awaits the role's
/// own return — the deadline is the group's (`maximumGracefulShutdownDuration`).
public struct RoleService: Service {
    let role: any BlockingRole
    let name: String

    public init(_ role: any BlockingRole, name: String) {
        self.role = role
        self.name = name
    }

    public func run() async throws {
        let role = self.role
        try await withGracefulShutdownHandler {
            try await runOnThread(name: name) { try role.run() }
        } onGracefulShutdown: {
            role.stop()
        }
    }
}

/// Runs `body` on a new thread and awaits its result, without blocking the concurrency pool.
public func runOnThread<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.name = name
        thread.start()
    }
}

/// Calls `reload` on every SIGHUP until graceful shutdown. `reload` reads the configuration
/// again and hands it to the role, which validates before it changes anything; a refused reload
/// is logged with every problem and the running configuration stays in force.
public struct ReloadService: Service {
    let reload: @Sendable () throws -> Void
    let logger: Logger

    public init(logger: Logger, reload: @escaping @Sendable () throws -> Void) {
        self.reload = reload
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                try reload()
            } catch {
                logger.error("configuration reload refused; the running configuration stays in force: \(error)")
            }
        }
    }
}

/// One process, one `ServiceGroup`: the HTTP servers first, the role last, so shutdown (reverse
/// order) stops the role, lets it finish, and only then closes the endpoints that report on it.
/// `signals` start the graceful shutdown (none in tests, which call `triggerGracefulShutdown()`).
public func makeRoleGroup(role: any BlockingRole, name: String, servers: [any Service] = [],
                          reload: (@Sendable () throws -> Void)? = nil, deadline: Duration,
                          signals: [UnixSignal] = [.sigterm, .sigint], logger: Logger) -> ServiceGroup {
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = servers.map {
        .init(service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup)
    }
    if let reload {
        services.append(.init(service: ReloadService(logger: logger, reload: reload), successTerminationBehavior: .ignore,
                              failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: "reload"))
    }
    services.append(.init(service: RoleService(role, name: name), successTerminationBehavior: .gracefullyShutdownGroup,
                          failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name))
    // The group's own lines (service started, shutting down) are detail below the role's own.
    var groupLogger = logger
    groupLogger.logLevel = max(logger.logLevel, .notice)
    var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: groupLogger)
    // Past the deadline the group cancels its services: the HTTP servers stop, the role's own
    // deadline-bounded shutdown goes on (a thread cannot be cancelled; no fatal timeout on it).
    configuration.maximumGracefulShutdownDuration = deadline
    return ServiceGroup(configuration: configuration)
}

/// Runs the role's group until every service has returned; the role's error, if any, is rethrown.
public func runRoleGroup(role: any BlockingRole, name: String, servers: [any Service] = [],
                         reload: (@Sendable () throws -> Void)? = nil, deadline: Duration, logger: Logger) async throws {
    let group = makeRoleGroup(role: role, name: name, servers: servers, reload: reload, deadline: deadline, logger: logger)
    await EarlyStop.attach(group)
    try await group.run()
}
