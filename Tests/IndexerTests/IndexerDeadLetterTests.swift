import ElasticClient
import Foundation
import KafkaClient
import Testing
import TestSupport

@Suite(.serialized) struct IndexerDeadLetterTests {
    @Test func malformedGoToTheDLQWithHeadersAndAResetCreatesNothingNew() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }

        // 2,000 good records of which 100 repeat an earlier event.id, plus 7 bad ones.
        var records = (0..<1_900).map { (topic: "logs.alpha", value: IndexerFixture.event(service: "alpha", n: $0)) }
        records += (0..<100).map { (topic: "logs.alpha", value: IndexerFixture.event(service: "alpha", n: $0 * 7)) }
        let bad: [String] = [
            "not json at all", "[1,2,3]", "{\"truncated\": ",
            "{\"message\":\"no timestamp\"}", "{\"@timestamp\":\"yesterday\",\"message\":\"bad time\"}",
            "{\"@timestamp\":\"\(IndexerFixture.today)T10:00:00Z\",\"http\":{\"response\":{\"status_code\":\"abc\"}}}",
            "{\"@timestamp\":\"\(IndexerFixture.today)T10:00:00Z\",\"event\":{\"duration\":\"slow\"}}",
        ]
        records += bad.map { (topic: "logs.alpha", value: Array($0.utf8)) }
        #expect(try IndexerFixture.produce(records, brokers: server.kafkaBootstrap) == 2_007)

        let config = try fixture.writeConfig()
        let indexer = fixture.indexer("indexer-a", config: config)
        try indexer.start()
        try waitUntil(timeout: 120, "the group to commit everything (log: \(indexer.logURL.path))") {
            try IndexerFixture.groupLag("logship-indexer", topics: ["logs.alpha"], brokers: server.kafkaBootstrap) == 0
        }
        #expect(try fixture.count("alpha") == 1_900)
        let dlq = try Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logs.dlq")
        #expect(dlq.count == 7)
        #expect(Set(dlq.map(\.value)) == Set(bad))
        #expect(try fixture.count("alpha") + dlq.count == 1_907, "indexed + dead-lettered = distinct produced")
        // Headers name the source and the error.
        let headers = try Subprocess.run("kcat", ["-b", server.kafkaBootstrap, "-C", "-t", "logs.dlq", "-e", "-q", "-f", "%h\n"])
        let lines = headers.stdout.split(separator: "\n")
        #expect(lines.count == 7)
        #expect(lines.allSatisfy { $0.contains("source.topic=logs.alpha") && $0.contains("source.offset=") && $0.contains("error.class=") })
        #expect(lines.filter { $0.contains("error.class=rejected") }.count == 2, "the two mapping conflicts come back from Elasticsearch")
        #expect(lines.filter { $0.contains("error.class=undecodable") }.count == 3)
        #expect(indexer.terminate() == 0)

        // Replay the topic (logship replay, the operator's way) and run again: every document is already there.
        let replay = try LogshipBinary.run(["replay", "--brokers", server.kafkaBootstrap, "--group", "logship-indexer",
                                            "--topic", "^logs\\.alpha$", "--to-earliest", "--execute"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("2007 messages to read again"), "\(replay.stdout)")
        #expect(try IndexerFixture.groupLag("logship-indexer", topics: ["logs.alpha"], brokers: server.kafkaBootstrap) == 2_007)
        let metricsPort = try FreePort.next()
        let again = fixture.indexer("indexer-b", config: config, metricsPort: metricsPort)
        try again.start()
        try waitUntil(timeout: 120, "the replay to be committed") {
            try IndexerFixture.groupLag("logship-indexer", topics: ["logs.alpha"], brokers: server.kafkaBootstrap) == 0
        }
        #expect(try fixture.count("alpha") == 1_900, "a replay creates no new documents")
        let scraped = try PythonScript.run("scrape_prometheus.py", ["http://127.0.0.1:\(metricsPort)/metrics"])
        let series = try #require(try JSONSerialization.jsonObject(with: Data(scraped.utf8)) as? [String: Double])
        #expect(series["logship_indexer_documents_indexed_total{service=\"alpha\"}"] == 0)
        #expect(series["logship_indexer_documents_duplicate_total{service=\"alpha\"}"] == 2_000)
        #expect(again.terminate() == 0)
    }
}
