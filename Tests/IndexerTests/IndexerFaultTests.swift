import ElasticClient
import Foundation
import KafkaClient
import Testing
import TestSupport

@Suite(.serialized) struct IndexerFaultTests {
    @Test func elasticsearchDownThirtySecondsLosesNothingAndOffsetsHold() throws {
        let kafka = try NoidaDB.start(services: ["kafka"])
        defer { kafka.destroy() }
        let elastic = try NoidaDB.start(services: ["elasticsearch"])
        defer { elastic.destroy() }
        let fixture = try IndexerFixture(kafka: kafka.kafkaBootstrap, elasticsearch: elastic.elasticsearchURL)
        defer { fixture.cleanup() }
        let total = 15_000
        #expect(try IndexerFixture.produce((0..<total).map { (topic: "logs.beta", value: IndexerFixture.event(service: "beta", n: $0)) },
                                           brokers: kafka.kafkaBootstrap) == total)
        let indexer = fixture.indexer("indexer-es-down", config: try fixture.writeConfig(batch: 500))
        try indexer.start()
        try waitUntil(timeout: 60, "some documents before the outage") { try fixture.count("beta") >= 1_000 }

        elastic.stop()
        // Whatever was in flight settles (it fails now); from here on nothing may be committed.
        try waitUntil(timeout: 30, "the indexer to notice the outage") { indexer.log.contains("bulk request failed; retrying") }
        let frozen = try IndexerFixture.committed("logship-indexer", topic: "logs.beta", brokers: kafka.kafkaBootstrap)
        let outageStart = Date()
        while Date().timeIntervalSince(outageStart) < 30 {
            #expect(try IndexerFixture.committed("logship-indexer", topic: "logs.beta", brokers: kafka.kafkaBootstrap) == frozen,
                    "offsets moved while Elasticsearch was down")
            #expect(indexer.isRunning)
            Thread.sleep(forTimeInterval: 1)
        }
        try elastic.start()
        try waitUntil(timeout: 180, "the indexer to catch up after the outage (log: \(indexer.logURL.path))") {
            try IndexerFixture.groupLag("logship-indexer", topics: ["logs.beta"], brokers: kafka.kafkaBootstrap) == 0
        }
        let indexed = try fixture.count("beta")
        #expect(indexed == total, "no loss: \(indexed) of \(total) indexed")
        #expect(indexer.terminate() == 0)
    }

    @Test func itemsRejectedWith429AreRetriedUntilIndexed() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let proxyPort = try FreePort.next()
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: try Subprocess.which("python3"))
        proxy.arguments = [PythonScript.path("bulk_429_proxy.py"), String(proxyPort), server.elasticsearchURL]
        let out = Pipe()
        proxy.standardOutput = out
        try proxy.run()
        // SIGKILL: the test runner's blocked signal mask is inherited, so SIGTERM would not stop it.
        defer { kill(proxy.processIdentifier, SIGKILL); proxy.waitUntilExit() }
        try waitUntil(timeout: 20, "the proxy to listen") { FreePort.isListening(proxyPort) }

        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: "http://127.0.0.1:\(proxyPort)")
        defer { fixture.cleanup() }
        let total = 4_000
        #expect(try IndexerFixture.produce((0..<total).map { (topic: "logs.gamma", value: IndexerFixture.event(service: "gamma", n: $0)) },
                                           brokers: server.kafkaBootstrap) == total)
        let metricsPort = try FreePort.next()
        let indexer = fixture.indexer("indexer-429", config: try fixture.writeConfig(batch: 400), metricsPort: metricsPort)
        try indexer.start()
        try waitUntil(timeout: 120, "everything committed (log: \(indexer.logURL.path))") {
            try IndexerFixture.groupLag("logship-indexer", topics: ["logs.gamma"], brokers: server.kafkaBootstrap) == 0
        }
        #expect(try fixture.count("gamma") == total, "every 429'd item was retried until indexed")
        let rejected = try Subprocess.run("curl", ["-s", "http://127.0.0.1:\(proxyPort)/__rejected"]).stdout
        let injected = (try JSONSerialization.jsonObject(with: Data(rejected.utf8)) as? [String: Int])?["count"] ?? 0
        #expect(injected >= total / 5, "the proxy injected \(injected) rejections")
        let scraped = try ScrapedMetrics.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        let series = scraped.samples
        for histogram in ["logship_indexer_bulk_duration_seconds", "logship_indexer_batch_documents", "logship_indexer_end_to_end_latency_seconds"] {
            #expect(scraped.types[histogram] == "histogram", "\(histogram)")
        }
        #expect(series["logship_indexer_end_to_end_latency_seconds_count"] == Double(total), "one age per indexed document")
        #expect((series["logship_indexer_bulk_duration_seconds_count"] ?? 0) > 0)
        #expect(series["logship_indexer_documents_retried_total{service=\"gamma\"}"] == Double(injected))
        #expect(series["logship_indexer_documents_indexed_total{service=\"gamma\"}"] == Double(total))
        #expect(indexer.terminate() == 0)
    }
}
