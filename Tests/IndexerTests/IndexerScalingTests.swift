import ElasticClient
import Foundation
import KafkaClient
import Testing
import TestSupport

/// Three services, three indexers started and stopped during the run, one SIGKILLed mid-batch
/// twice while the others work: every service ends with exactly its distinct event ids as
/// documents, and no lag.
///
/// Kafka here is librdkafka's mock cluster, Elasticsearch is noida-db. noida-db's group
/// coordinator never evicts a SIGKILLed member (measured: its partitions stay orphaned and the
/// group stops rebalancing), so kills need a coordinator that enforces session timeouts, as
/// real Kafka and the mock cluster do. The mock keeps a bounded tail per partition (5 MiB), so
/// each topic has 6 partitions. 3 × 100,000 events with the default (eager) assignor
/// (LOGSHIP_TEST_EVENTS changes it), and the same run with cooperative-sticky — which the mock's
/// coordinator supports and noida-db's does not (DESIGN.md) — at a fifth of the volume.
@Suite(.serialized) struct IndexerScalingTests {
    static let perService = Int(ProcessInfo.processInfo.environment["LOGSHIP_TEST_EVENTS"] ?? "") ?? 100_000

    @Test(arguments: [("range,roundrobin", perService), ("cooperative-sticky", perService / 5)])
    func threeIndexersWithKillsIndexEachDistinctEventExactlyOnce(assignor: String, perService: Int) throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        let elastic = try NoidaDB.start(services: ["elasticsearch"])
        defer { elastic.destroy() }
        let services = ["pay", "ship", "stock"]
        for service in services { try cluster.createTopic("logs.\(service)", partitions: 6, replicationFactor: 3) }
        try cluster.createTopic("logs.dlq", partitions: 1, replicationFactor: 3)
        try cluster.createTopic("logship.health", partitions: 1, replicationFactor: 3)
        let fixture = try IndexerFixture(kafka: cluster.bootstrapServers, elasticsearch: elastic.elasticsearchURL)
        defer { fixture.cleanup() }

        var records: [(topic: String, value: [UInt8])] = []
        for service in services {
            // Every 20th record repeats an earlier event (an agent re-send after a crash).
            for n in 0..<perService { records.append((topic: "logs.\(service)", value: IndexerFixture.event(service: service, n: n))) }
            for n in stride(from: 0, to: perService, by: 20) {
                records.append((topic: "logs.\(service)", value: IndexerFixture.event(service: service, n: n)))
            }
        }
        records.shuffle()
        #expect(try IndexerFixture.produce(records, brokers: cluster.bootstrapServers, createTopics: false) == records.count)

        let config = try fixture.writeConfig(batch: 1_000, assignor: assignor)
        let ports = try (0..<3).map { _ in try FreePort.next() }
        let indexers = (0..<3).map { fixture.indexer("indexer-\($0)", config: config, metricsPort: ports[$0]) }
        func bulkRequests(_ index: Int) -> Double {
            guard let text = try? Subprocess.run("curl", ["-s", "http://127.0.0.1:\(ports[index])/metrics"], timeout: 5).stdout else { return 0 }
            return PrometheusText.parse(text)["logship_indexer_bulk_requests_total"] ?? 0
        }
        func total() throws -> Int { try services.reduce(0) { $0 + (try fixture.count($1)) } }

        try indexers[0].start()
        try indexers[1].start()
        // indexer-1 is SIGKILLed twice while writing batches; indexer-2 joins meanwhile and later leaves.
        for round in 0..<2 {
            try waitUntil(timeout: 180, "indexer-1 to write batches (round \(round))") { bulkRequests(1) >= 2 }
            indexers[1].kill9()
            if round == 0 { try indexers[2].start() }
            try indexers[1].start()
        }
        let progress = try total()
        try waitUntil(timeout: 240, "progress with three members") { try total() >= min(progress + 3_000, 3 * perService) }
        let leaving = indexers[2].terminate()
        #expect(leaving == 0, "a member that leaves drains, commits and exits 0; log: \(Self.failureExcerpt(indexers[2].log))")

        let topics = services.map { "logs.\($0)" }
        try waitUntil(timeout: 600, interval: 1, "the group to reach lag 0 (logs in \(fixture.dir.path))") {
            try IndexerFixture.groupLag("logship-indexer", topics: topics, brokers: cluster.bootstrapServers) == 0
        }
        for service in services {
            #expect(try fixture.count(service) == perService, "\(service): documents = distinct event ids")
        }
        let protocolName = assignor == "cooperative-sticky" ? "COOPERATIVE" : "EAGER"
        #expect(indexers[0].log.contains("kafka.rebalance_protocol=\(protocolName)"), "\(indexers[0].log.suffix(2_000))")
        #expect(indexers[0].terminate() == 0)
        #expect(indexers[1].terminate() == 0)
        #expect(try IndexerFixture.groupLag("logship-indexer", topics: topics, brokers: cluster.bootstrapServers) == 0)
    }

    /// From a crash report, its first line and the frames of the thread that crashed (the Swift
    /// backtracer marks it `crashed:`, after the other threads); otherwise the log's end.
    static func failureExcerpt(_ log: String) -> String {
        guard let fatal = log.range(of: "Fatal error") ?? log.range(of: "Program crashed") else {
            return String(log.suffix(3_000))
        }
        let firstLine = log[fatal.lowerBound...].prefix { $0 != "\n" }
        guard let crashed = log.range(of: " crashed:") else { return String(log[fatal.lowerBound...].prefix(6_000)) }
        let header = log[..<crashed.lowerBound].lastIndex(of: "\n").map { log.index(after: $0) } ?? crashed.lowerBound
        return firstLine + "\n" + log[header...].prefix(5_000)
    }

    /// A second member joins while the first holds a batch it has not written yet, and the
    /// rebalance hands the first some of the same partitions back: the records read before the
    /// revocation are dropped and read again from the committed offset, the ones read after it
    /// are kept. Every event ends up indexed exactly once (cluster/up lost 8 of 1,200 here
    /// once, when records of the new assignment were dropped with those of the old one).
    @Test func aMemberJoiningWhileABatchIsInHandLosesNothing() throws {
        let noida = try NoidaDB.start()
        defer { noida.destroy() }
        let fixture = try IndexerFixture(kafka: noida.kafkaBootstrap, elasticsearch: noida.elasticsearchURL)
        defer { fixture.cleanup() }
        let service = "joining"
        func produce(_ range: Range<Int>) throws {
            let records = range.map { (topic: "logs.\(service)", value: IndexerFixture.event(service: service, n: $0)) }
            #expect(try IndexerFixture.produce(records, brokers: noida.kafkaBootstrap) == records.count)
        }
        try produce(0..<2_000)
        let config = try fixture.writeConfig(batch: 100_000, flushInterval: "3s")
        let first = fixture.indexer("indexer-a", config: config)
        let second = fixture.indexer("indexer-b", config: config)
        defer { _ = first.terminate(); _ = second.terminate() }
        try first.start()
        try waitUntil(timeout: 60, "indexer-a to be assigned its partitions") { first.log.contains("partitions assigned") }
        try second.start()
        try waitUntil(timeout: 60, "the rebalance that hands partitions to indexer-b") { second.log.contains("partitions assigned") }
        try produce(2_000..<4_000)
        try waitUntil(timeout: 120, interval: 0.5, "the group to reach lag 0 (logs in \(fixture.dir.path))") {
            try IndexerFixture.groupLag("logship-indexer", topics: ["logs.\(service)"], brokers: noida.kafkaBootstrap) == 0
        }
        #expect(try fixture.count(service) == 4_000, "documents = events; indexer-a log: \(first.log.suffix(2_000))")
        #expect(first.terminate() == 0)
        #expect(second.terminate() == 0)
    }
}
