import Hummingbird
import Logging

/// Serves `/metrics` (Prometheus text format) for a role, from a closure that renders the
/// role's current counters, and `/health` for liveness probes.
public struct MetricsServer: Sendable {
    public let host: String
    public let port: Int
    private let render: @Sendable () -> String
    private let logger: Logger

    /// `listen` is `host:port`.
    public init?(listen: String, logger: Logger, render: @escaping @Sendable () -> String) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else { return nil }
        host = String(listen[..<colon])
        self.port = port
        self.render = render
        self.logger = logger
    }

    /// Runs until the surrounding task is cancelled.
    public func run() async throws {
        let router = Router()
        let render = self.render
        router.get("metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: render())))
        }
        router.get("health") { _, _ in "ok\n" }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
        try await app.runService(gracefulShutdownSignals: [])
    }
}
