import ElasticClient
import Foundation
import KafkaClient
import Testing
import TestSupport

/// Every path on which the indexer waits for a backend, each with Kafka on librdkafka's mock
/// cluster and on noida-db: after the outage every document arrives (count = distinct ids), the
/// lag is 0 and nothing is duplicated, within 60 s of the backend's return; while it is away,
/// the group's committed offsets do not move. The index-creation case is the stall of issue 17:
/// its wait paused partitions that nothing resumed, so the indexer sat in its poll for ever.
@Suite(.serialized) struct IndexerRetryPathTests {
    enum ElasticOutage: String, CaseIterable, Sendable {
        /// Elasticsearch away when the indexer starts (index template, ILM policy).
        case templateInstall
        /// Away when the next day's index is to be created (00:00 UTC every day).
        case indexCreation
        /// Away while a batch is written to an index that exists.
        case bulk
    }

    static let service = "payment"
    static let topic = "logs.payment"
    static let dayBefore = "2024-06-14"
    static let day = "2024-06-15"
    /// 8 s keeps ten cases within CI's time; LOGSHIP_TEST_OUTAGE_SECONDS=30 runs the issue's outage.
    static let outage = TimeInterval(ProcessInfo.processInfo.environment["LOGSHIP_TEST_OUTAGE_SECONDS"] ?? "") ?? 8

    /// `count` events of `day`, numbered from `from`, with every 20th repeated (an agent's re-send).
    static func events(_ range: Range<Int>, day: String) -> [(topic: String, value: [UInt8])] {
        var records = range.map { (topic: topic, value: IndexerFixture.event(service: service, n: $0, day: day)) }
        records += stride(from: range.lowerBound, to: range.upperBound, by: 20).map {
            (topic: topic, value: IndexerFixture.event(service: service, n: $0, day: day))
        }
        return records
    }

    /// Waits out the outage checking that nothing is committed and the indexer stays up.
    static func holdOutage(_ seconds: TimeInterval, kafka: TestKafka, indexer: RoleProcess) throws {
        let frozen = try IndexerFixture.committed("logship-indexer", topic: topic, brokers: kafka.bootstrap)
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            #expect(try IndexerFixture.committed("logship-indexer", topic: topic, brokers: kafka.bootstrap) == frozen,
                    "offsets moved while the write could not be done")
            #expect(indexer.isRunning)
            Thread.sleep(forTimeInterval: 1)
        }
    }

    /// After the backend is back: everything indexed and committed within 60 s.
    static func expectRecovery(_ fixture: IndexerFixture, kafka: TestKafka, indexer: RoleProcess, distinct: Int) throws {
        let back = Date()
        try waitUntil(timeout: 60, interval: 0.5, "every document and lag 0 within 60 s of the backend's return (log: \(indexer.logURL.path))") {
            try fixture.count(service) == distinct && kafka.lag([topic]) == 0
        }
        print("recovered \(distinct) documents \(String(format: "%.1f", Date().timeIntervalSince(back))) s after the backend returned (\(kafka.backend))")
        #expect(try fixture.count(service) == distinct, "documents = distinct event ids, no duplicate")
        #expect(!indexer.log.contains("indexer stalled"))
        #expect(indexer.terminate() == 0)
    }

    @Test(arguments: ElasticOutage.allCases, TestKafka.Backend.allCases)
    func elasticsearchAwayLosesNothingAndResumes(during outage: ElasticOutage, kafka backend: TestKafka.Backend) throws {
        let kafka = try TestKafka(backend, services: [Self.service])
        defer { kafka.destroy() }
        let elastic = try NoidaDB(services: ["elasticsearch"])
        defer { elastic.destroy() }
        let fixture = try IndexerFixture(kafka: kafka.bootstrap, elasticsearch: elastic.elasticsearchURL)
        defer { fixture.cleanup() }
        let indexer = fixture.indexer("indexer-\(outage)", config: try fixture.writeConfig(batch: 500))
        defer { indexer.kill9() }

        let marker: String
        switch outage {
        case .templateInstall:
            #expect(try kafka.produce(Self.events(0..<4_000, day: Self.day)) == 4_200)
            try indexer.start()
            marker = "Elasticsearch not ready; retrying"
        case .indexCreation, .bulk:
            try elastic.start()
            #expect(try kafka.produce(Self.events(0..<2_000, day: Self.dayBefore)) == 2_100)
            try indexer.start()
            // Everything written and committed, so the outage meets the next batch, not this one's tail.
            try waitUntil(timeout: 60, "the first day's documents") { try fixture.count(Self.service) == 2_000 && kafka.lag([Self.topic]) == 0 }
            elastic.stop()
            // Index creation: the next day's events need a new index. Bulk: the same day's index.
            let day = outage == .indexCreation ? Self.day : Self.dayBefore
            #expect(try kafka.produce(Self.events(2_000..<4_000, day: day)) == 2_100)
            marker = outage == .indexCreation ? "cannot create index; retrying" : "bulk request failed; retrying"
        }
        do {
            try waitUntil(timeout: 30, "the indexer to meet the outage (\(marker))") { indexer.log.contains(marker) }
        } catch {
            Issue.record("\(error); the indexer's log ends: \(indexer.log.suffix(3_000))")
            throw error
        }
        try Self.holdOutage(Self.outage, kafka: kafka, indexer: indexer)
        try elastic.start()
        try Self.expectRecovery(fixture, kafka: kafka, indexer: indexer, distinct: 4_000)
    }

    /// Kafka, and Elasticsearch behind the fault proxy: the indexer writes through `fixture`
    /// (the proxy), the test counts through `direct`.
    struct Proxied {
        let kafka: TestKafka
        let elastic: NoidaDB
        let proxy: ElasticFaultProxy
        let fixture: IndexerFixture
        var direct: IndexerFixture { fixture.through(elastic.elasticsearchURL) }

        init(_ backend: TestKafka.Backend) throws {
            kafka = try TestKafka(backend, services: [IndexerRetryPathTests.service])
            elastic = try NoidaDB.start(services: ["elasticsearch"])
            proxy = try ElasticFaultProxy(upstream: elastic.elasticsearchURL, passthrough: true)
            fixture = try IndexerFixture(kafka: kafka.bootstrap, elasticsearch: proxy.url)
        }

        func destroy() {
            proxy.stop()
            elastic.destroy()
            kafka.destroy()
            fixture.cleanup()
        }
    }

    /// Elasticsearch answers, but every item of every bulk with 429 for a while (a fake: the
    /// fault proxy; no real server here rejects on cue).
    @Test(arguments: TestKafka.Backend.allCases)
    func anItemLevel429StormLosesNothingAndResumes(kafka backend: TestKafka.Backend) throws {
        let setup = try Proxied(backend)
        defer { setup.destroy() }
        let (kafka, proxy, fixture, direct) = (setup.kafka, setup.proxy, setup.fixture, setup.direct)
        #expect(try kafka.produce(Self.events(0..<1_000, day: Self.day)) == 1_050)
        let indexer = fixture.indexer("indexer-429-storm", config: try fixture.writeConfig(batch: 500))
        defer { indexer.kill9() }
        try indexer.start()
        try waitUntil(timeout: 60, "the first documents") { try direct.count(Self.service) == 1_000 }
        try proxy.control("/__storm/on")
        #expect(try kafka.produce(Self.events(1_000..<4_000, day: Self.day)) == 3_150)
        try waitUntil(timeout: 30, "the storm to hit a bulk") { indexer.log.contains("bulk items to retry") }
        try Self.holdOutage(Self.outage, kafka: kafka, indexer: indexer)
        #expect(try direct.count(Self.service) == 1_000, "nothing written during the storm")
        try proxy.control("/__storm/off")
        try Self.expectRecovery(direct, kafka: kafka, indexer: indexer, distinct: 4_000)
    }

    /// Kafka goes away after a batch is fetched and before its dead letters are written: the
    /// bulk is held in flight by the fault proxy while Kafka is taken down, then let through.
    /// The dead letters wait for Kafka (consumption held, membership kept while the session
    /// lasts), then the batch commits, and everything fetches again. Measured: run alone, each
    /// malformed record is dead-lettered once; on a loaded machine the member can lose its
    /// group membership over the outage (noida-db forgets its groups on restart; the mock's
    /// session expires), its commit then finds no partitions, and the re-read writes the dead
    /// letters a second time — at least once, counted by source record.
    @Test(arguments: TestKafka.Backend.allCases)
    func kafkaAwayDuringADeadLetterWriteLosesNothing(kafka backend: TestKafka.Backend) throws {
        let setup = try Proxied(backend)
        defer { setup.destroy() }
        let (kafka, proxy, fixture, direct) = (setup.kafka, setup.proxy, setup.fixture, setup.direct)

        var records = Self.events(0..<2_000, day: Self.day)
        let malformed = (0..<20).map { (topic: Self.topic, value: Array("not json \($0)".utf8)) }
        records += malformed
        records.shuffle()
        #expect(try kafka.produce(records) == records.count)
        try proxy.control("/__gate/close")
        // One batch of everything fetched in its first 2 s: the bulk in flight carries the malformed records.
        let indexer = fixture.indexer("indexer-dlq-outage", config: try fixture.writeConfig(
            batch: 100_000, flushInterval: "2s", sessionTimeoutMs: 30_000))
        defer { indexer.kill9() }
        try indexer.start()
        try waitUntil(timeout: 60, "a bulk in flight") { (try proxy.state("/__gate")["waiting"] as? Int ?? 0) >= 1 }
        try kafka.takeDown()
        try proxy.control("/__gate/open")
        try waitUntil(timeout: 30, "the dead-letter write to wait for Kafka") { indexer.log.contains("dead letters not acknowledged yet") }
        Thread.sleep(forTimeInterval: Self.outage)
        #expect(indexer.isRunning)
        try kafka.bringUp()
        let back = Date()
        try waitUntil(timeout: 60, interval: 0.5, "every document, 20 dead letters and lag 0 within 60 s of Kafka's return (log: \(indexer.logURL.path))") {
            try direct.count(Self.service) == 2_000 && kafka.lag([Self.topic]) == 0
        }
        print("recovered \(String(format: "%.1f", Date().timeIntervalSince(back))) s after Kafka returned (\(backend))")
        let letters = try DeadLetters.read(brokers: kafka.bootstrap)
        print("dead letters: \(letters.total) written for \(letters.bySource.count) source records (\(backend))")
        #expect(letters.bySource.count == 20, "each malformed record dead-lettered")
        #expect(Set(letters.bySource.values.map(\.value)) == Set(malformed.map { String(decoding: $0.value, as: UTF8.self) }))
        #expect(letters.bySource.values.allSatisfy { $0.headers["source.topic"] == "logs.payment" && $0.headers["error.class"] == "undecodable" })
        #expect(indexer.terminate() == 0)
    }
}
