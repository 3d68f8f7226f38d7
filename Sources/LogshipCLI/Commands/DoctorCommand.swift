import ArgumentParser
import ElasticClient
import Foundation
import KafkaClient
import LogModel

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that the configured Kafka and Elasticsearch answer, and how logship meets them.",
        discussion: helpText("""
        Prints broker count, topics, the replication factor of logship's topics (a warning when
        it is below the topic's min.insync.replicas: acks=all writes are then refused), the
        Elasticsearch version and health, the auth mode and TLS in use, and whether logship's
        index template is installed and wins for a sample daily index (ES's _simulate_index
        where the cluster has it). Exits 1 within 10 s, naming the endpoint and what failed,
        when either is unreachable.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable, Sendable {
        struct Kafka: Encodable, Sendable {
            var brokers: [String]
            var ok: Bool
            var brokerCount: Int?
            var topics: [String]?
            /// logship's topics: replicas per partition and min.insync.replicas.
            var replication: [Replication]?
            var warnings: [String]?
            var error: String?
        }

        struct Replication: Encodable, Sendable {
            var topic: String
            var replicas: Int
            var minInsyncReplicas: Int?
        }

        struct Elasticsearch: Encodable, Sendable {
            var url: String
            var ok: Bool
            var version: String?
            var health: String?
            var auth: String
            var tls: String
            /// logship's template: installed, its priority, the template that wins for `sampleIndex`.
            var template: String?
            var sampleIndex: String?
            var winningTemplate: String?
            var warnings: [String]?
            var error: String?
        }

        var kafka: Kafka
        var elasticsearch: Elasticsearch
        var ok: Bool { kafka.ok && elasticsearch.ok }

        enum CodingKeys: String, CodingKey { case kafka, elasticsearch, ok }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kafka, forKey: .kafka)
            try container.encode(elasticsearch, forKey: .elasticsearch)
            try container.encode(ok, forKey: .ok)
        }
    }

    func run() async throws {
        let config = try cluster.load()
        // Both checks run at once, each bounded, so the whole answer comes within 10 s.
        async let kafka = checkKafka(config.kafkaConfiguration(clientID: "logship-doctor"))
        async let elastic = checkElasticsearch(config.elasticConfiguration(connectTimeoutMs: 3_000), template: config.elasticsearch.template.name)
        let report = Report(kafka: await kafka, elasticsearch: await elastic)
        if json {
            try printJSON(report)
        } else {
            print(render(report))
        }
        if !report.ok { throw ExitCode(ExitStatus.failure) }
    }

    func checkKafka(_ kafka: KafkaConfiguration) async -> Report.Kafka {
        var settings = kafka
        settings.properties["socket.timeout.ms"] = settings.properties["socket.timeout.ms"] ?? "6000"
        let endpoint = kafka.brokers.joined(separator: ",")
        do {
            let admin = try KafkaAdmin(settings, timeoutMs: 6_000)
            let metadata = try await admin.run { try $0.metadata() }
            let own = metadata.topics.filter { $0.name.hasPrefix("logs.") || $0.name.hasPrefix("logship.") }
            var replication: [Report.Replication] = []
            var warnings: [String] = []
            let names = own.prefix(200).map(\.name)
            let configs = (try? await admin.run { try $0.topicConfigs(names, keys: ["min.insync.replicas"]) }) ?? [:]
            for topic in own.prefix(200) {
                let replicas = topic.partitions.map(\.replicas.count).min() ?? 0
                let minISR = configs[topic.name]?["min.insync.replicas"].flatMap { Int($0) }
                replication.append(.init(topic: topic.name, replicas: replicas, minInsyncReplicas: minISR))
                if let minISR, replicas < minISR {
                    warnings.append("\(topic.name): \(replicas) replica(s) < min.insync.replicas \(minISR): every acks=all write is refused; recreate it with kafka.replication_factor >= \(minISR)")
                }
            }
            return Report.Kafka(brokers: kafka.brokers, ok: true, brokerCount: metadata.brokers.count,
                                topics: metadata.topics.map(\.name).filter { !$0.hasPrefix("__") },
                                replication: replication, warnings: warnings.isEmpty ? nil : warnings)
        } catch {
            return Report.Kafka(brokers: kafka.brokers, ok: false, error: "Kafka at \(endpoint) unreachable: \(error)")
        }
    }

    func checkElasticsearch(_ es: ElasticConfiguration, template: String) async -> Report.Elasticsearch {
        var settings = es
        settings.requestTimeoutMs = min(settings.requestTimeoutMs, 6_000)
        let tls = !es.urls.contains { $0.hasPrefix("https://") } ? "off"
            : es.tls.verify ? (es.tls.caFile.map { "verified (CA \($0))" } ?? "verified (system CAs)") : "on, certificate NOT verified"
        var report = Report.Elasticsearch(url: es.displayURLs, ok: false, auth: es.authMode, tls: tls)
        do {
            let client = try ElasticClient(settings)
            let (info, health) = try await Task.detached { (try client.info(), try client.health()) }.value
            report.ok = true
            report.version = "\(info.distribution) \(info.version)"
            report.health = health
            var warnings: [String] = []
            let sample = Naming.index(service: "doctor", year: 2030, month: 1, day: 1)
            report.sampleIndex = sample
            let installed = try? await Task.detached { try client.indexTemplate(template) }.value
            if let answer = installed ?? nil, let body = answer[path: "index_templates"]?.array?.first?[path: "index_template"] {
                report.template = "\(template) (priority \(body[path: "priority"]?.int ?? 0), patterns \(body[path: "index_patterns"]?.array?.compactMap(\.string).joined(separator: ",") ?? "?"))"
            } else {
                warnings.append("index template \(template) is not installed (an indexer installs it at start)")
            }
            // Which template ES would apply to a logship index, where the cluster can say.
            let simulated = try? await Task.detached { try client.requestBlocking("POST", "/_index_template/_simulate_index/\(sample)") }.value
            if let simulated, simulated.isSuccess, let json = try? simulated.json() {
                // The answer is the template ES would apply: logship's when it carries logship's mapping.
                let ours = json[path: "template.mappings.properties.trace.properties.id.type"]?.string == "keyword"
                report.winningTemplate = ours ? template : "another template"
                if !ours { warnings.append("\(sample) would not get logship's mapping: a higher-priority template matches it") }
                if let overlapping = json[path: "overlapping"]?.array, !overlapping.isEmpty {
                    let names = overlapping.compactMap { $0[path: "name"]?.string }
                    warnings.append("lower-priority templates also match \(sample): \(names.joined(separator: ", "))")
                }
            } else {
                report.winningTemplate = "unknown (this cluster has no _simulate_index)"
            }
            report.warnings = warnings.isEmpty ? nil : warnings
        } catch {
            let message = (error as? ElasticError)?.message ?? "\(error)"
            report.error = message.contains(es.url) ? message : "Elasticsearch at \(es.displayURLs): \(message)"
        }
        return report
    }

    func render(_ report: Report) -> String {
        var lines: [String] = []
        let k = report.kafka
        if k.ok {
            let topics = k.topics ?? []
            lines.append("✓ Kafka \(k.brokers.joined(separator: ",")): \(k.brokerCount ?? 0) broker(s), \(topics.count) topic(s)"
                         + (topics.isEmpty ? "" : ": " + topics.prefix(20).joined(separator: ", ")))
            for r in k.replication ?? [] {
                lines.append("  \(r.topic): \(r.replicas) replica(s), min.insync.replicas \(r.minInsyncReplicas.map(String.init) ?? "?")")
            }
            for warning in k.warnings ?? [] { lines.append("  ! \(warning)") }
        } else {
            lines.append("✗ \(k.error ?? "Kafka check failed")")
        }
        let e = report.elasticsearch
        if e.ok {
            lines.append("✓ Elasticsearch \(e.url): \(e.version ?? "?"), health \(e.health ?? "?"), auth \(e.auth), TLS \(e.tls)")
            lines.append("  template: \(e.template ?? "not installed"); for \(e.sampleIndex ?? "?"): \(e.winningTemplate ?? "?")")
            for warning in e.warnings ?? [] { lines.append("  ! \(warning)") }
        } else {
            lines.append("✗ \(e.error ?? "Elasticsearch check failed")")
        }
        return lines.joined(separator: "\n")
    }
}
