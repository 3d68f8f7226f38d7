import Foundation
import Indexer
import KafkaClient
import LogshipConfig
import Telemetry
import Testing
import TestSupport

/// The indexer's lifecycle: run in-process in a ServiceGroup; SIGTERM mid-bulk 20 times in a
/// row — exit 0 within the deadline, no error line — and every record indexed exactly once.
@Suite(.serialized) struct IndexerLifecycleTests {
    static func scrape(_ port: Int) -> [String: Double] {
        PrometheusText.parse((try? Subprocess.run("curl", ["-s", "http://127.0.0.1:\(port)/metrics"], timeout: 5).stdout) ?? "")
    }

    @Test func inProcessIndexerIndexesCommitsAndLeaves() async throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }
        let records = (0..<1_000).map { (topic: "logs.inproc", value: IndexerFixture.event(service: "inproc", n: $0)) }
        #expect(try IndexerFixture.produce(records, brokers: server.kafkaBootstrap) == 1_000)

        let indexer = try IndexerService(configuration: ConfigurationLoader.load(path: fixture.writeConfig(batch: 200)))
        let port = try FreePort.next()
        let metrics = try #require(MetricsServer(listen: "127.0.0.1:\(port)", metrics: indexer.stats.metrics, logger: .init(label: "test")) {
            indexer.stats.publish()
        })
        let running = InProcessRole(indexer, name: "indexer", servers: [metrics])
        try waitUntil(timeout: 120, "the group to commit everything") {
            try IndexerFixture.groupLag("logship-indexer", topics: ["logs.inproc"], brokers: server.kafkaBootstrap) == 0
        }
        #expect(try fixture.count("inproc") == 1_000)
        let scraped = try ScrapedMetrics.scrape("http://127.0.0.1:\(port)/metrics")
        #expect(scraped.samples[#"logship_indexer_documents_indexed_total{service="inproc"}"#] == 1_000)
        #expect(scraped.samples["logship_indexer_end_to_end_latency_seconds_count"] == 1_000)
        #expect(scraped.types["logship_indexer_batch_documents"] == "histogram")
        try await running.stop()
        #expect(indexer.stats.commits > 0)
        #expect(!FreePort.isListening(port), "the metrics server stopped with the group")
    }

    @Test func sigtermMidBulkTwentyTimesLosesNothing() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }
        let total = 30_000
        let records = (0..<total).map { (topic: "logs.term", value: IndexerFixture.event(service: "term", n: $0)) }
        #expect(try IndexerFixture.produce(records, brokers: server.kafkaBootstrap) == total)
        let config = try fixture.writeConfig(batch: 100, flushInterval: "100ms")
        for round in 1...20 {
            let port = try FreePort.next()
            let indexer = fixture.indexer("term-\(round)", config: config, metricsPort: port)
            try indexer.start()
            // Mid-bulk: stopped as soon as its first bulk request of this run is written.
            try waitUntil(timeout: 60, "round \(round): a bulk request (log: \(indexer.logURL.path))") {
                (Self.scrape(port)["logship_indexer_bulk_requests_total"] ?? 0) > 0
            }
            let (status, took) = indexer.terminateTimed(timeout: 40)
            #expect(status == 0, "round \(round): exit \(String(describing: status)) (log: \(indexer.logURL.path))")
            #expect(took < 30, "round \(round): stopped in \(took) s, deadline 30 s")
            #expect(indexer.errorLines.isEmpty, "round \(round): \(indexer.errorLines)")
        }
        let indexed = try fixture.count("term")
        #expect(indexed > 0 && indexed < total, "stopped mid-way: \(indexed) of \(total)")
        let last = fixture.indexer("term-last", config: config)
        try last.start()
        try waitUntil(timeout: 180, "the rest to be committed") {
            try IndexerFixture.groupLag("logship-indexer", topics: ["logs.term"], brokers: server.kafkaBootstrap) == 0
        }
        #expect(last.terminate() == 0)
        #expect(try fixture.count("term") == total, "every record indexed, none twice (ids are the events')")
    }

    /// Latency-bounded batching: with a 10-s flush interval and batches of 100,000, a quiet
    /// service's few records still go within batch_wait of the indexer reading them, in one bulk
    /// that asks for a refresh (searchable at once, `indexer.refresh: auto`).
    @Test func aQuietServicesRecordsAreWrittenOnceCaughtUpNotAtTheFlushInterval() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }
        #expect(try IndexerFixture.produce([(topic: "logs.quiet", value: IndexerFixture.event(service: "quiet", n: 0))],
                                           brokers: server.kafkaBootstrap) == 1)
        let config = try fixture.writeConfig(batch: 100_000, flushInterval: "10s", batchWait: "50ms")
        let port = try FreePort.next()
        let indexer = fixture.indexer("quiet", config: config, metricsPort: port)
        try indexer.start()
        defer { _ = indexer.terminate() }
        try waitUntil(timeout: 60, "the first record (log: \(indexer.logURL.path))") { try fixture.searchableCount("quiet") == 1 }
        // Caught up: ten more, written (and searchable) well before the 10-s flush interval.
        let produced = Date()
        #expect(try IndexerFixture.produce((1...10).map { (topic: "logs.quiet", value: IndexerFixture.event(service: "quiet", n: $0)) },
                                           brokers: server.kafkaBootstrap) == 10)
        try waitUntil(timeout: 5, interval: 0.05, "the ten records searchable within 5 s (log: \(indexer.logURL.path))") {
            try fixture.searchableCount("quiet") == 11
        }
        #expect(Date().timeIntervalSince(produced) < 5)
        #expect((Self.scrape(port)["logship_indexer_bulk_requests_total"] ?? 0) >= 2, "two bulks: the first record's, the ten's")
    }
}
