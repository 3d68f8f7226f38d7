import ElasticClient
import Foundation
import KafkaClient
import Testing
import TestSupport

@Suite(.serialized) struct IndexerStallTests {
    /// A paused partition that nothing resumes (the test hook pauses the assignment outside any
    /// wait, as the bug did): within the configured stall time the indexer logs an error naming
    /// the partitions and their state, beats `stalled`, and `logship status` says degraded, why,
    /// and exits 3.
    @Test func aPauseNothingResumesIsReportedAsAStall() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        defer { fixture.cleanup() }
        func produce(_ range: Range<Int>) throws {
            let records = range.map { (topic: "logs.payment", value: IndexerFixture.event(service: "payment", n: $0)) }
            #expect(try IndexerFixture.produce(records, brokers: server.kafkaBootstrap) == records.count)
        }
        try produce(0..<600)
        let metricsPort = try FreePort.next()
        let config = try fixture.writeConfig(batch: 200, stallTimeout: "3s")
        let indexer = fixture.indexer("indexer-stall", config: config, metricsPort: metricsPort)
        defer { indexer.kill9() }
        try indexer.start(environment: ["LOGSHIP_TEST_HOOKS": "leak-pause"])
        try waitUntil(timeout: 60, "the test hook to pause the assignment") { indexer.log.contains("test hook leak-pause") }
        let leaked = Date()
        // Records the paused partitions will not fetch: lag > 0 whatever was prefetched.
        try produce(600..<1_600)
        try waitUntil(timeout: 15, interval: 0.1, "the stall to be reported (log: \(indexer.logURL.path))") { indexer.log.contains("indexer stalled") }
        let seconds = Date().timeIntervalSince(leaked)
        // stall_timeout 3 s, checked every 750 ms, from the last record fetched or indexed.
        #expect(seconds <= 3 + 0.75 + 2, "reported \(seconds) s after the pause")
        let line = try #require(indexer.log.split(separator: "\n").first { $0.contains("indexer stalled") })
        #expect(line.contains("error"), "\(line)")
        #expect(line.contains("logs.payment[") && line.contains("paused outside any wait") && line.contains("lag "), "\(line)")

        let metrics = try Subprocess.run("curl", ["-s", "http://127.0.0.1:\(metricsPort)/metrics"], timeout: 5).stdout
        #expect(PrometheusText.parse(metrics)["logship_indexer_stalled"] == 1)

        var report: [String: Any] = [:]
        var exitStatus: Int32 = 0
        try waitUntil(timeout: 15, interval: 0.5, "logship status to show the stall") {
            let status = try LogshipBinary.run(["status", "--config", config, "--json"])
            exitStatus = status.status
            report = (try? JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]) ?? [:]
            let components = report["components"] as? [[String: Any]] ?? []
            return components.contains { $0["id"] as? String == "indexer-stall" && $0["status"] as? String == "stalled" }
        }
        let cluster = try #require(report["cluster"] as? [String: Any])
        #expect(cluster["status"] as? String == "degraded")
        let reasons = cluster["reasons"] as? [String] ?? []
        #expect(reasons.contains { $0.contains("indexer indexer-stall") && $0.contains("is stalled: no record fetched or indexed") }, "\(reasons)")
        #expect(exitStatus == 3)
        let text = try LogshipBinary.run(["status", "--config", config])
        #expect(text.stdout.contains("stalled"), "\(text.stdout)")
        #expect(indexer.terminate() == 0)
    }
}
