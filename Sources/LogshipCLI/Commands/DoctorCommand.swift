import ArgumentParser
import ElasticClient
import Foundation
import KafkaClient

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check that the configured Kafka and Elasticsearch answer.",
        discussion: """
        Prints broker count, topics, Elasticsearch version and health. Exits 1 within 10 s,
        naming the endpoint and what failed, when either is unreachable.
        """
    )

    @OptionGroup var cluster: ClusterOptions
    @Flag(help: "Print JSON.") var json = false

    struct Report: Encodable, Sendable {
        struct Kafka: Encodable, Sendable {
            var brokers: [String]
            var ok: Bool
            var brokerCount: Int?
            var topics: [String]?
            var error: String?
        }

        struct Elasticsearch: Encodable, Sendable {
            var url: String
            var ok: Bool
            var version: String?
            var health: String?
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
        async let elastic = checkElasticsearch(config.elasticConfiguration(connectTimeoutMs: 3_000))
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
            return Report.Kafka(brokers: kafka.brokers, ok: true, brokerCount: metadata.brokers.count,
                                topics: metadata.topics.map(\.name).filter { !$0.hasPrefix("__") })
        } catch {
            return Report.Kafka(brokers: kafka.brokers, ok: false, error: "Kafka at \(endpoint) unreachable: \(error)")
        }
    }

    func checkElasticsearch(_ es: ElasticConfiguration) async -> Report.Elasticsearch {
        var settings = es
        settings.requestTimeoutMs = min(settings.requestTimeoutMs, 6_000)
        do {
            let client = try ElasticClient(settings)
            let (info, health) = try await Task.detached { (try client.info(), try client.health()) }.value
            return Report.Elasticsearch(url: es.url, ok: true, version: "\(info.distribution) \(info.version)", health: health)
        } catch {
            let message = (error as? ElasticError)?.message ?? "\(error)"
            return Report.Elasticsearch(url: es.url, ok: false, error: message.contains(es.url) ? message : "Elasticsearch at \(es.url): \(message)")
        }
    }

    func render(_ report: Report) -> String {
        var lines: [String] = []
        let k = report.kafka
        if k.ok {
            let topics = k.topics ?? []
            lines.append("✓ Kafka \(k.brokers.joined(separator: ",")): \(k.brokerCount ?? 0) broker(s), \(topics.count) topic(s)"
                         + (topics.isEmpty ? "" : ": " + topics.prefix(20).joined(separator: ", ")))
        } else {
            lines.append("✗ \(k.error ?? "Kafka check failed")")
        }
        let e = report.elasticsearch
        if e.ok {
            lines.append("✓ Elasticsearch \(e.url): \(e.version ?? "?"), health \(e.health ?? "?")")
        } else {
            lines.append("✗ \(e.error ?? "Elasticsearch check failed")")
        }
        return lines.joined(separator: "\n")
    }
}
