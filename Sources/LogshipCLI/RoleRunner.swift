import Foundation
import Logging
import Telemetry

/// The `/metrics` + `/health` server of a role, when it has an address.
func metricsServer(_ listen: String?, _ metrics: RoleMetrics, _ logger: Logger,
                   refresh: @escaping @Sendable () -> Void = {}) throws -> MetricsServer? {
    try listen.map { address in
        guard let server = MetricsServer(listen: address, metrics: metrics, logger: logger, refresh: refresh) else {
            throw CLIError("--metrics-listen: expected host:port, found \(address)", status: ExitStatus.usage)
        }
        return server
    }
}

/// A one-off blocking job (a reindex) run like a role: SIGTERM/SIGINT call `onStop`, and the
/// job winds down in its own way.
struct JobRole: BlockingRole {
    let body: @Sendable () throws -> Void
    let onStop: @Sendable () -> Void

    func run() throws { try body() }
    func stop() { onStop() }
}
