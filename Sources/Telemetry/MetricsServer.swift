import Hummingbird
import Logging
import ServiceLifecycle

/// Serves a role's `/metrics` (Prometheus text format, rendered by its `RoleMetrics`) and
/// `/health` for liveness probes. A `Service`: it stops with its group.
public struct MetricsServer: Service {
    public let host: String
    public let port: Int
    private let metrics: RoleMetrics
    private let refresh: @Sendable () -> Void
    private let logger: Logger

    /// `listen` is `host:port`; `refresh` publishes the role's current values before each scrape.
    public init?(listen: String, metrics: RoleMetrics, logger: Logger, refresh: @escaping @Sendable () -> Void = {}) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else { return nil }
        host = String(listen[..<colon])
        self.port = port
        self.metrics = metrics
        self.refresh = refresh
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        let metrics = self.metrics
        let refresh = self.refresh
        router.get("metrics") { _, _ -> Response in
            refresh()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        }
        router.get("health") { _, _ in "ok\n" }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: quiet)
        try await app.run()
    }
}
