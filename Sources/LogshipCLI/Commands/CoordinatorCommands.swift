import ArgumentParser
import Coordinator
import ElasticClient
import Foundation
import LogshipConfig
import Telemetry

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Serve cluster health: HTTP API, Prometheus /metrics and a live dashboard.",
        discussion: helpText("""
        Reads the heartbeats in logship.health from the beginning (agents, indexers and the
        detector beat every coordinator.heartbeat_interval, 5s), Kafka metadata and group
        offsets, Elasticsearch's health and logship.alerts, once a second. A component is stale
        after 3 missed beats, stopped after its final beat, and forgotten (a tombstone on
        logship.health) after coordinator.stale_expiry (10m) of silence. The cluster is down when Kafka or
        Elasticsearch cannot be reached or no indexer is up, degraded when a component is stale or
        stalled (an indexer whose stall watchdog fired),
        Elasticsearch is not green or a group lags (WARN, STALL, STOP), healthy otherwise.
        Endpoints: /health, /api/v1/cluster, /api/v1/components, /api/v1/lag, /api/v1/alerts,
        /api/v1/history, /metrics, / (dashboard). coordinator.token (or
        LOGSHIP_COORDINATOR_TOKEN) requires `Authorization: Bearer <token>` on the API and /metrics.
        """)
    )
    @OptionGroup var cluster: ClusterOptions
    @Option(help: "host:port to serve on (default: coordinator.listen, 127.0.0.1:9700).") var listen: String?
    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.") var logLevel: LogLevelOption = .info

    func run() async throws {
        EarlyStop.trap()  // a SIGTERM during set-up stops the role gracefully once it runs
        let config = try cluster.load()
        let logger = makeLogger("logship.coordinator", level: logLevel)
        let service = try CoordinatorService(configuration: config, logger: logger)
        guard let server = CoordinatorServer(service: service, listen: listen ?? config.coordinator.listen, token: config.coordinator.token, logger: logger) else {
            throw CLIError("--listen: expected host:port, found \(listen ?? config.coordinator.listen)", status: ExitStatus.usage)
        }
        try await runRoleGroup(role: service, name: "coordinator", servers: [server], deadline: .seconds(10), logger: logger)
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Is the log pipeline healthy? Asks a coordinator, or works it out directly.",
        discussion: helpText("""
        Asks the coordinator (--coordinator URL, default http://<coordinator.listen>) for
        /api/v1/cluster and /api/v1/components; when none answers, computes the same view from
        Kafka and Elasticsearch itself. Exit 0 when healthy, 3 when degraded or down.
        """)
    )
    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Coordinator base URL.") var coordinator: String?
    @Flag(help: "Print JSON: {cluster, components, source}.") var json = false

    struct Output: Encodable {
        var source: String
        var cluster: ClusterReport
        var components: [ComponentView]
    }

    func run() async throws {
        let config = try cluster.load()
        let base = coordinator ?? "http://\(config.coordinator.listen)"
        var output: Output
        if let remote = try? fetch(base, token: config.coordinator.token) {
            output = remote
        } else {
            if coordinator != nil && !json { print("note: no coordinator answers at \(base); computing the view directly") }
            let service = try CoordinatorService(configuration: config, logger: makeLogger("logship.status", level: LogLevelOption(argument: "critical")!))
            service.refresh()
            guard let snapshot = service.snapshot else { throw CLIError("could not compute the cluster view") }
            output = Output(source: "direct", cluster: snapshot.cluster, components: snapshot.components)
        }
        if json {
            try printJSON(output)
        } else {
            let c = output.cluster
            print("cluster \(c.status) (\(output.source == "direct" ? "computed directly" : "from \(output.source)"))")
            for reason in c.reasons { print("  - \(reason)") }
            print("kafka: \(c.kafka.status) \(c.kafka.detail)   elasticsearch: \(c.elasticsearch.status) \(c.elasticsearch.detail)")
            for group in c.groups {
                print("group \(group.name): \(group.members) members, \(group.partitions) partitions, lag \(group.lag) (\(group.status))\(group.advice.map { " — \($0)" } ?? "")")
            }
            var table = Table("COMPONENT", "ROLE", "HOST", "STATUS", "LAST SEEN")
            for component in output.components { table.add(component.id, component.role, component.host, component.status, component.lastSeen) }
            if !output.components.isEmpty { print(table.render()) }
        }
        if output.cluster.status != "healthy" { throw CLIError("cluster is \(output.cluster.status)", status: ExitStatus.checkFailed) }
    }

    func fetch(_ base: String, token: String?) throws -> Output {
        let client = try WebClient(timeoutMs: 3_000, connectTimeoutMs: 1_000)
        func get<T: Decodable>(_ path: String, _ type: T.Type) throws -> T {
            let response = try client.get(base + path, headers: token.map { ["Authorization: Bearer \($0)"] } ?? [])
            guard response.isSuccess else { throw CLIError("\(base)\(path) answered \(response.status)") }
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        }
        return Output(source: base, cluster: try get("/api/v1/cluster", ClusterReport.self), components: try get("/api/v1/components", [ComponentView].self))
    }
}
