import Foundation
import Hummingbird
import Logging
import Operations
import ServiceLifecycle
import Telemetry

/// The coordinator's HTTP face: `/health`, `/api/v1/{cluster,components,lag,alerts,history}`
/// (JSON), `/metrics` (Prometheus text) and `/` (the dashboard). With a token configured the
/// API and `/metrics` need `Authorization: Bearer <token>`; `/health` and `/` never do (the
/// dashboard asks for the token and keeps it in the page).
public struct CoordinatorServer: Service {
    let service: CoordinatorService
    let metrics = RoleMetrics(role: "coordinator", version: CoordinatorService.version)
    let host: String
    let port: Int
    let token: String?
    let logger: Logger

    public init?(service: CoordinatorService, listen: String, token: String?, logger: Logger) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else { return nil }
        host = String(listen[..<colon])
        self.port = port
        self.service = service
        self.token = token
        self.logger = logger
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func json(_ value: some Encodable) -> Response {
        let data = (try? Self.encoder.encode(value)) ?? Data("null".utf8)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func authorized(_ request: Request) -> Bool {
        guard let token else { return true }
        return request.headers[.authorization] == "Bearer \(token)"
    }

    static let unauthorized = Response(status: .unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                                       body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"a bearer token is required\"}")))
    static let warmingUp = Response(status: .serviceUnavailable, body: .init(byteBuffer: ByteBuffer(string: "{\"error\":\"first refresh not done yet\"}")))

    func render(_ snapshot: CoordinatorService.Snapshot) -> String {
        PrometheusPublishing.publish(snapshot, into: metrics)
        return metrics.render()
    }

    /// Runs until its service group shuts down.
    public func run() async throws {
        let router = Router()
        let server = self
        router.get("health") { _, _ -> Response in
            let status = server.service.snapshot?.cluster.status ?? "starting"
            return Response(status: status == "down" ? .serviceUnavailable : .ok, body: .init(byteBuffer: ByteBuffer(string: status + "\n")))
        }
        func api(_ path: RouterPath, _ body: @escaping @Sendable (CoordinatorService.Snapshot) -> Response) {
            router.get(path) { request, _ -> Response in
                guard server.authorized(request) else { return Self.unauthorized }
                guard let snapshot = server.service.snapshot else { return Self.warmingUp }
                return body(snapshot)
            }
        }
        api("api/v1/cluster") { server.json($0.cluster) }
        api("api/v1/components") { server.json($0.components) }
        api("api/v1/lag") { snapshot in snapshot.lag.map { server.json($0) } ?? server.json([String: String]()) }
        api("api/v1/alerts") { server.json($0.alerts) }
        api("api/v1/history") { server.json($0.history) }
        api("metrics") { snapshot in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: server.render(snapshot))))
        }
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: Dashboard.html)))
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: quiet)
        try await app.run()
    }
}

/// `/metrics`: the cluster view, published into the coordinator's `RoleMetrics` (swift-prometheus
/// renders the text). States are labelled series (one is 1, the others 0); rates are left to
/// PromQL (`rate(logship_service_events_total[5m])`).
public enum PrometheusPublishing {
    public static func publish(_ snapshot: CoordinatorService.Snapshot, into metrics: RoleMetrics) {
        typealias Samples = [(labels: [(String, String)], value: Double)]
        let cluster = snapshot.cluster
        metrics.publish(gauge: "logship_cluster_status", help: "1 for the cluster's current status (healthy, degraded, down), 0 for the others.",
                        samples: ["healthy", "degraded", "down"].map { ([("status", $0)], cluster.status == $0 ? 1 : 0) })
        var components: Samples = []
        for (role, statuses) in cluster.components {
            for status in ["up", "stalled", "stale", "stopped"] { components.append(([("role", role), ("status", status)], Double(statuses[status] ?? 0))) }
        }
        metrics.publish(gauge: "logship_components", help: "Components by role and status, from their heartbeats.", samples: components)
        let partitions = (snapshot.lag?.groups ?? []).flatMap { group in group.partitions.map { (group.name, $0) } }
        func partitionLabels(_ entry: (String, LagReport.Partition)) -> [(String, String)] {
            [("group", entry.0), ("topic", entry.1.topic), ("partition", String(entry.1.partition))]
        }
        metrics.publish(gauge: "logship_consumer_lag", help: "Messages between the group's committed offset and the log end.",
                        samples: partitions.map { (partitionLabels($0), Double($0.1.lag)) })
        metrics.publish(gauge: "logship_consumer_lag_seconds", help: "Age of the first unconsumed message.",
                        samples: partitions.map { (partitionLabels($0), $0.1.lagSeconds) })
        metrics.publish(gauge: "logship_group_members", help: "Members of each consumer group.",
                        samples: cluster.groups.map { ([("group", $0.name)], Double($0.members)) })
        for (service, produced) in snapshot.eventsProduced {
            metrics.publish(counter: "logship_service_events_total", help: "Events produced to the service's topic (sum of its log-end offsets).",
                            labels: [("service", service)], value: produced)
        }
        metrics.publish(gauge: "logship_service_error_ratio", help: "Share of ERROR and CRITICAL events over the last 5 minutes.",
                        samples: cluster.services.map { ([("service", $0.name)], $0.errorPct / 100) })
        metrics.publish(gauge: "logship_alerts_recent", help: "Alerts in logship.alerts over the last hour.", value: Double(cluster.recentAlerts))
        metrics.publish(gauge: "logship_backend_up", help: "Whether Kafka and Elasticsearch answer.",
                        samples: [([("backend", "kafka")], cluster.kafka.reachable ? 1 : 0),
                                  ([("backend", "elasticsearch")], cluster.elasticsearch.reachable ? 1 : 0)])
    }
}
