import Foundation
import Hummingbird
import Logging
import Operations

/// The coordinator's HTTP face: `/health`, `/api/v1/{cluster,components,lag,alerts,history}`
/// (JSON), `/metrics` (Prometheus text) and `/` (the dashboard). With a token configured the
/// API and `/metrics` need `Authorization: Bearer <token>`; `/health` and `/` never do (the
/// dashboard asks for the token and keeps it in the page).
public struct CoordinatorServer: Sendable {
    let service: CoordinatorService
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

    /// Runs until the surrounding task is cancelled.
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
                     body: .init(byteBuffer: ByteBuffer(string: PrometheusRendering.render(snapshot))))
        }
        router.get("/") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: Dashboard.html)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port)), logger: logger)
        try await app.runService(gracefulShutdownSignals: [])
    }
}

/// `/metrics`: the cluster view in Prometheus text format 0.0.4.
public enum PrometheusRendering {
    public static func render(_ snapshot: CoordinatorService.Snapshot) -> String {
        var out: [String] = []
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            out.append("# HELP \(name) \(help)")
            out.append("# TYPE \(name) \(type)")
            for sample in samples {
                let labels = sample.labels.isEmpty ? "" : "{" + sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
                out.append("\(name)\(labels) \(format(sample.value))")
            }
        }
        let cluster = snapshot.cluster
        family("logship_cluster_status", "gauge", "Overall status: 0 healthy, 1 degraded, 2 down.",
               [([], cluster.status == "healthy" ? 0 : cluster.status == "degraded" ? 1 : 2)])
        var components: [(labels: [(String, String)], value: Double)] = []
        for (role, statuses) in cluster.components.sorted(by: { $0.key < $1.key }) {
            for status in ["up", "stalled", "stale", "stopped"] { components.append(([("role", role), ("status", status)], Double(statuses[status] ?? 0))) }
        }
        family("logship_components", "gauge", "Components by role and status, from their heartbeats.", components)
        let partitions = (snapshot.lag?.groups ?? []).flatMap { group in group.partitions.map { (group.name, $0) } }
        family("logship_consumer_lag", "gauge", "Messages between the group's committed offset and the log end.",
               partitions.map { ([("group", $0.0), ("topic", $0.1.topic), ("partition", String($0.1.partition))], Double($0.1.lag)) })
        family("logship_consumer_lag_seconds", "gauge", "Age of the first unconsumed message.",
               partitions.map { ([("group", $0.0), ("topic", $0.1.topic), ("partition", String($0.1.partition))], $0.1.lagSeconds) })
        family("logship_group_members", "gauge", "Members of each consumer group.", cluster.groups.map { ([("group", $0.name)], Double($0.members)) })
        family("logship_service_events_per_second", "gauge", "Events produced per second, per service.",
               cluster.services.map { ([("service", $0.name)], $0.eventsPerSecond) })
        family("logship_service_error_ratio", "gauge", "Share of ERROR and CRITICAL events over the last 5 minutes.",
               cluster.services.map { ([("service", $0.name)], $0.errorPct / 100) })
        family("logship_alerts_recent", "gauge", "Alerts in logship.alerts over the last hour.", [([], Double(cluster.recentAlerts))])
        family("logship_backend_up", "gauge", "Whether Kafka and Elasticsearch answer.",
               [([("backend", "kafka")], cluster.kafka.reachable ? 1 : 0), ([("backend", "elasticsearch")], cluster.elasticsearch.reachable ? 1 : 0)])
        return out.joined(separator: "\n") + "\n"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
