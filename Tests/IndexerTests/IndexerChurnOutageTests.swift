import ElasticClient
import Foundation
import KafkaClient
import Testing
import TestSupport

/// Issue 17's larger run: three services × 20,000 events (+5 % repeats, 70 malformed records),
/// three members; member 0 SIGKILLed twice, member 1 stopped and restarted, Elasticsearch away
/// for 30 s in the middle. Kafka is the mock cluster (noida-db never evicts a SIGKILLed member).
/// Every service ends with its distinct ids as documents, every malformed record is in logs.dlq
/// with its headers, and the group's lag is 0.
@Suite(.serialized) struct IndexerChurnOutageTests {
    @Test func threeMembersWithKillsARestartAndAnElasticsearchOutage() throws {
        let services = ["pay", "ship", "stock"]
        let perService = 20_000
        let kafka = try TestKafka(.mock, services: services)
        defer { kafka.destroy() }
        let elastic = try NoidaDB.start(services: ["elasticsearch"])
        defer { elastic.destroy() }
        let fixture = try IndexerFixture(kafka: kafka.bootstrap, elasticsearch: elastic.elasticsearchURL)
        defer { fixture.cleanup() }

        var records: [(topic: String, value: [UInt8])] = []
        var malformed: Set<String> = []
        for (s, service) in services.enumerated() {
            records += (0..<perService).map { (topic: "logs.\(service)", value: IndexerFixture.event(service: service, n: $0)) }
            records += stride(from: 0, to: perService, by: 20).map { (topic: "logs.\(service)", value: IndexerFixture.event(service: service, n: $0)) }
            for m in 0..<(s == 0 ? 24 : 23) {
                let bad = m % 2 == 0 ? "not json \(service) \(m)" : "{\"message\":\"no timestamp \(service) \(m)\"}"
                malformed.insert(bad)
                records.append((topic: "logs.\(service)", value: Array(bad.utf8)))
            }
        }
        #expect(malformed.count == 70)
        records.shuffle()
        #expect(try kafka.produce(records) == records.count)

        let config = try fixture.writeConfig(batch: 1_000)
        let members = (0..<3).map { fixture.indexer("indexer-\($0)", config: config) }
        defer { for member in members { member.kill9() } }
        func total() throws -> Int { try services.reduce(0) { $0 + (try fixture.count($1)) } }
        for member in members { try member.start() }

        try waitUntil(timeout: 120, "progress before the first kill") { try total() >= 5_000 }
        members[0].kill9()
        try members[0].start()
        try waitUntil(timeout: 120, "progress before member 1 stops") { try total() >= 12_000 }
        #expect(members[1].terminate() == 0, "a member that leaves drains, commits and exits 0")
        try members[1].start()
        try waitUntil(timeout: 120, "progress before the outage") { try total() >= 20_000 }
        elastic.stop()
        let outage = Date()
        while Date().timeIntervalSince(outage) < 30 {
            if let gone = members.first(where: { !$0.isRunning }) {
                Issue.record("a member exited while Elasticsearch was away; its log ends: \(gone.log.suffix(4_000))")
                break
            }
            Thread.sleep(forTimeInterval: 1)
        }
        try elastic.start()
        try waitUntil(timeout: 120, "progress after the outage") { try total() >= 30_000 }
        members[0].kill9()
        try members[0].start()

        let topics = services.map { "logs.\($0)" }
        try waitUntil(timeout: 300, interval: 1, "lag 0 (logs in \(fixture.dir.path))") { try kafka.lag(topics) == 0 }
        for service in services {
            #expect(try fixture.count(service) == perService, "\(service): documents = distinct event ids")
        }
        let letters = try DeadLetters.read(brokers: kafka.bootstrap)
        print("dead letters: \(letters.total) written, \(letters.bySource.count) distinct source records")
        #expect(letters.bySource.count == 70)
        #expect(Set(letters.bySource.values.map(\.value)) == malformed)
        for (source, letter) in letters.bySource {
            #expect(letter.headers["source.topic"].map { topics.contains($0) } == true && letter.headers["error.class"] != nil
                    && letter.headers["error.reason"] != nil, "\(source): \(letter.headers)")
        }
        #expect(try kafka.lag(topics) == 0)
        #expect(!members.contains { $0.log.contains("indexer stalled") })
        for member in members { #expect(member.terminate() == 0) }
    }
}
