import ElasticClient
import Foundation
import KafkaClient
import LogModel
import Testing
import TestSupport

/// The indexer against what a stock Elasticsearch 8 holds and how operators reach it: the
/// built-in and Fleet templates, TLS, several nodes, secrets from the environment.
@Suite(.serialized) struct IndexerProductionTests {
    /// ES 8.15's built-in templates as far as matching goes (patterns, priority 100, data
    /// streams; their component templates replaced by a small inline mapping, which noida-db
    /// needs no component templates for), and a Fleet integration template at 200.
    static func installStockTemplates(_ es: ElasticClient) throws {
        for name in ["logs", "metrics", "synthetics", "traces"] {
            try es.putIndexTemplate(name, [
                "index_patterns": [.string("\(name)-*-*")], "priority": 100, "data_stream": [:],
                "template": ["mappings": ["properties": ["@timestamp": ["type": "date"], "data_stream": ["properties": ["type": ["type": "constant_keyword"]]]]]],
                "_meta": ["description": .string("default \(name) template installed by x-pack"), "managed": true],
            ])
        }
        try es.putIndexTemplate("logs-nginx.access", [
            "index_patterns": ["logs-nginx.access-*"], "priority": 200, "data_stream": [:],
            "template": ["mappings": ["properties": [
                "@timestamp": ["type": "date"], "message": ["type": "keyword"], "nginx": ["properties": ["access": ["properties": ["remote_ip_list": ["type": "keyword"]]]]],
            ]]],
            "_meta": ["package": ["name": "nginx"], "managed_by": "fleet", "managed": true],
        ])
    }

    static func mappingType(_ es: ElasticClient, index: String, field: [String]) throws -> String? {
        let mapping = try es.call("GET", "/\(index)/_mapping")
        guard case .object(let indices) = mapping, let first = indices.values.first else { return nil }
        var node: JSONValue? = first[path: "mappings.properties"]
        for (i, part) in field.enumerated() {
            node = node?[path: part]
            if i < field.count - 1 { node = node?[path: "properties"] }
        }
        return node?[path: "type"]?.string
    }

    @Test func coexistsWithTheBuiltInAndFleetTemplates() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let es = try ElasticClient(ElasticConfiguration(url: server.elasticsearchURL))
        try Self.installStockTemplates(es)
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }
        let records = (0..<10_000).map { (topic: "logs.checkout", value: IndexerFixture.event(service: "checkout", n: $0, day: "2024-06-15")) }
        #expect(try IndexerFixture.produce(records, brokers: server.kafkaBootstrap) == 10_000)
        let indexer = fixture.indexer("indexer-templates", config: try fixture.writeConfig(batch: 2_000))
        defer { indexer.kill9() }
        try indexer.start()
        try waitUntil(timeout: 120, "10,000 documents (log: \(indexer.logURL.path))") { try fixture.count("checkout") == 10_000 }
        let index = "logs-checkout-2024.06.15"
        #expect(try Self.mappingType(es, index: index, field: ["trace", "id"]) == "keyword", "logship's mapping governs its index")
        #expect(try Self.mappingType(es, index: index, field: ["message"]) == "text")
        let answer = try #require(try es.indexTemplate("logship-logs"))
        let template = try #require(answer[path: "index_templates"]?.array?.first?[path: "index_template"], "\(answer)")
        #expect(template[path: "priority"]?.int == 500)
        #expect(template[path: "index_patterns"] == ["logs-*-20*"])

        // An Elastic Agent document into its data stream: the integration's template, not logship's.
        let agentDoc = try es.requestBlocking("POST", "/logs-nginx.access-default/_doc?op_type=create&refresh=true", body: Array("""
        {"@timestamp":"2024-06-15T10:00:00Z","message":"GET / 200","data_stream":{"type":"logs","dataset":"nginx.access","namespace":"default"}}
        """.utf8))
        #expect(agentDoc.isSuccess, "\(agentDoc.status) \(String(decoding: agentDoc.body, as: UTF8.self))")
        #expect(try Self.mappingType(es, index: "logs-nginx.access-default", field: ["message"]) == "keyword",
                "the nginx integration's mapping, not logship's text")
        #expect(try Self.mappingType(es, index: "logs-nginx.access-default", field: ["trace", "id"]) == nil)

        // doctor: the template installed and winning for a logship index, auth, TLS, replication.
        let doctor = try LogshipBinary.run(["doctor", "--json", "--brokers", server.kafkaBootstrap, "--es-url", server.elasticsearchURL])
        #expect(doctor.status == 0, "\(doctor.stdout)\(doctor.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any])
        let elastic = report["elasticsearch"] as? [String: Any] ?? [:]
        #expect((elastic["template"] as? String)?.contains("priority 500") == true, "\(elastic)")
        #expect(elastic["auth"] as? String == "none" && elastic["tls"] as? String == "off")
        print("doctor: template \(elastic["template"] ?? "-"), for \(elastic["sampleIndex"] ?? "-"): \(elastic["winningTemplate"] ?? "-")")
        let replication = (report["kafka"] as? [String: Any])?["replication"] as? [[String: Any]] ?? []
        #expect(replication.contains { $0["topic"] as? String == "logs.checkout" && $0["replicas"] as? Int == 1 }, "\(replication)")
        #expect(indexer.terminate() == 0)
    }

    /// A user template at logship's priority overlapping its patterns: ES refuses logship's, and
    /// the indexer exits 2 with ES's reason on one line instead of retrying for ever.
    @Test func aRefusedTemplateEndsTheIndexerWithExit2AndTheReason() throws {
        let server = try NoidaDB.start(services: ["elasticsearch"])
        defer { server.destroy() }
        let kafka = try KafkaMockCluster(brokers: 1)
        let es = try ElasticClient(ElasticConfiguration(url: server.elasticsearchURL))
        try es.putIndexTemplate("team-logs", ["index_patterns": ["logs-*-2024*"], "priority": 500, "template": ["settings": [:]]])
        let fixture = try IndexerFixture(kafka: kafka.bootstrapServers, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }
        let indexer = fixture.indexer("indexer-refused", config: try fixture.writeConfig())
        try indexer.start()
        try waitUntil(timeout: 30, "the indexer to exit") { !indexer.isRunning }
        #expect(indexer.terminate() == 2)
        let line = try #require(indexer.log.split(separator: "\n").first { $0.hasPrefix("logship: ") })
        #expect(line.contains("cannot install index template logship-logs") && line.contains("priority"), "\(line)")
    }

    /// Two nodes, the first dead: every request fails over to the second.
    @Test func twoURLsTheFirstDeadIndexesThroughTheSecond() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let dead = "http://127.0.0.1:\(try FreePort.next())"
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }
        let records = (0..<2_000).map { (topic: "logs.twonodes", value: IndexerFixture.event(service: "twonodes", n: $0)) }
        #expect(try IndexerFixture.produce(records, brokers: server.kafkaBootstrap) == 2_000)
        let config = try fixture.writeConfig(extra: "")
        // Replace the single url by two (the first has nothing listening).
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "elasticsearch: {url: \"\(server.elasticsearchURL)\"", with: "elasticsearch: {urls: [\"\(dead)\", \"\(server.elasticsearchURL)\"]")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let indexer = fixture.indexer("indexer-two-urls", config: config)
        defer { indexer.kill9() }
        try indexer.start()
        try waitUntil(timeout: 60, "2,000 documents through the live node (log: \(indexer.logURL.path))") { try fixture.count("twonodes") == 2_000 }
        #expect(try IndexerFixture.groupLag("logship-indexer", topics: ["logs.twonodes"], brokers: server.kafkaBootstrap) == 0)
        #expect(indexer.terminate() == 0)
    }

    /// TLS in front of noida-db (a terminator made for the test: noida-db has no TLS). With the
    /// CA the indexer indexes; without it, it exits 2 naming the certificate problem; with
    /// `tls.verify: false` it indexes and warns once. The password comes from `${ES_PASSWORD}`
    /// and appears in no log line and not in `config show`.
    @Test func tlsWithACAFileWithoutItAndUnverified() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }
        let proxy = try TLSProxy(upstream: server.elasticsearchURL, dir: fixture.dir)
        defer { proxy.stop() }
        let secret = "pw-\(UUID().uuidString.prefix(8))"
        func config(_ name: String, tls: String) throws -> String {
            let path = fixture.dir.appendingPathComponent("\(name).yml").path
            try """
            kafka: {brokers: ["${KAFKA_BROKERS}"], partitions: 3, properties: {session.timeout.ms: "6000"}}
            elasticsearch: {url: "\(proxy.url)", username: elastic, password: "${ES_PASSWORD}", timeout: 10s\(tls)}
            indexer: {batch_documents: 500, flush_interval: 300ms}
            coordinator: {heartbeat_interval: 1s}
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let environment = ["KAFKA_BROKERS": server.kafkaBootstrap, "ES_PASSWORD": secret]
        func run(_ name: String, tls: String, service: String) throws -> RoleProcess {
            let records = (0..<500).map { (topic: "logs.\(service)", value: IndexerFixture.event(service: service, n: $0)) }
            #expect(try IndexerFixture.produce(records, brokers: server.kafkaBootstrap) == 500)
            let indexer = fixture.indexer("indexer-\(name)", config: try config(name, tls: tls))
            try indexer.start(environment: environment)
            return indexer
        }

        let trusted = try run("ca", tls: ", tls: {ca_file: \"\(proxy.caFile)\"}", service: "tlsca")
        try waitUntil(timeout: 60, "documents over TLS (log: \(trusted.logURL.path))") { try fixture.count("tlsca") == 500 }
        #expect(trusted.terminate() == 0)
        #expect(trusted.log.contains("es.tls=verified"))

        let untrusted = try run("no-ca", tls: "", service: "tlsnoca")
        try waitUntil(timeout: 30, "the indexer without the CA to exit") { !untrusted.isRunning }
        #expect(untrusted.terminate() == 2)
        let line = try #require(untrusted.log.split(separator: "\n").first { $0.hasPrefix("logship: ") })
        #expect(line.contains("TLS") && line.lowercased().contains("certificate") && line.contains("tls.ca_file"), "\(line)")

        let unverified = try run("unverified", tls: ", tls: {verify: false}", service: "tlsoff")
        try waitUntil(timeout: 60, "documents over unverified TLS") { try fixture.count("tlsoff") == 500 }
        #expect(unverified.terminate() == 0)
        #expect(unverified.log.components(separatedBy: "tls.verify is false").count == 2, "warned exactly once")

        let shown = try LogshipBinary.run(["config", "show", "--config", try config("show", tls: "")], environment: environment)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("[REDACTED]") && shown.stdout.contains(server.kafkaBootstrap))
        for output in [trusted.log, untrusted.log, unverified.log, shown.stdout, shown.stderr] {
            #expect(!output.contains(secret), "the password leaked")
        }
    }
}
