import ElasticClient
import Foundation
import Indexer
import KafkaClient
import LogModel
import Testing
import TestSupport

/// `logship reindex` against noida-db: 50,000 events over two days into `-v2`, interrupted once
/// and resumed, then the alias swapped.
@Suite(.serialized) struct ReindexTests {
    @Test func reindexIntoV2ResumesAfterInterruptAndSwapsTheAlias() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let fixture = try IndexerFixture(kafka: server.kafkaBootstrap, elasticsearch: server.elasticsearchURL)
        let config = try fixture.writeConfig()
        let service = "reidx"
        let yesterday = String(Timestamps.format(epochMillis: Int64(Date().timeIntervalSince1970 * 1000) - 86_400_000).prefix(10))
        let events = (0..<50_000).map { n in
            (topic: "logs.\(service)", value: IndexerFixture.event(service: service, n: n, day: n % 5 == 0 ? yesterday : IndexerFixture.today))
        }
        #expect(try IndexerFixture.produce(events, brokers: server.kafkaBootstrap) == 50_000)

        // The indices as they are before the rebuild: written directly, with the read alias.
        let es = try ElasticClient(ElasticConfiguration(url: server.elasticsearchURL))
        let alias = Naming.alias(service: service)
        var oldIndices = Set<String>()
        for chunk in stride(from: 0, to: events.count, by: 5_000) {
            let items = events[chunk..<min(chunk + 5_000, events.count)].map { event -> BulkItem in
                guard case .success(let routed) = DocumentRouterProbe.route(event.value) else { fatalError("unroutable test event") }
                oldIndices.insert(routed.index)
                return BulkItem(index: routed.index, id: routed.id, document: event.value)
            }
            #expect(try es.bulk(items).allSatisfy { $0.outcome == .created })
        }
        try es.updateAliases(oldIndices.map { .add(index: $0, alias: alias) })
        for index in oldIndices { try es.refresh(index) }
        let oldCounts = try Dictionary(uniqueKeysWithValues: oldIndices.map { ($0, try es.count($0)) })
        #expect(oldCounts.values.reduce(0, +) == 50_000)

        // First run, interrupted once some progress is committed.
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [server.kafkaBootstrap]))
        let partitions = (0..<3).map { TopicPartition("logs.\(service)", Int32($0)) }
        let log = fixture.dir.appendingPathComponent("reindex-1.log")
        let first = try SignalReset.launch(try LogshipBinary.path(), ["reindex", "--config", config, "--service", service], log: log)
        try waitUntil(timeout: 120, interval: 0.2, "reindex progress to be committed") {
            let done = try admin.committedOffsets(group: "logship-reindex-\(service)-v2", partitions: partitions).values.compactMap { $0 }.reduce(0, +)
            return done >= 10_000 || !first.isRunning
        }
        let early = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(first.isRunning, "the first run ended before it could be interrupted: \(early)")
        kill(first.processIdentifier, SIGINT)
        first.waitUntilExit()
        #expect(first.terminationStatus == 1)
        #expect(try String(contentsOf: log, encoding: .utf8).contains("run the same command again to resume"))

        // Second run: resumes, finishes, swaps the alias.
        let second = try LogshipBinary.run(["reindex", "--config", config, "--service", service, "--swap-alias", "--json"], timeout: 300)
        #expect(second.status == 0, "\(second.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any]
        #expect(result?["documents"] as? Int == 50_000)
        #expect(result?["aliasSwapped"] as? Bool == true)
        let newIndices = Set(oldIndices.map { $0 + "-v2" })
        #expect(Set(result?["indices"] as? [String] ?? []) == newIndices)
        for index in newIndices { try es.refresh(index) }
        for (index, count) in oldCounts { #expect(try es.count(index + "-v2") == count, "\(index)") }
        #expect(Set(try es.indices(ofAlias: alias)) == newIndices)
        // Through the alias: the same number of events and the same document for an id.
        #expect(try es.count(alias) == 50_000)
        let id = String(format: "%032x", 12_345 + service.hashValueStable * 1_000_000)
        let hits = try es.search(alias, ["query": ["term": ["_id": .string(id)]]])
        let sources = hits[path: "hits.hits"]?.array ?? []
        #expect(sources.count == 1 && sources.first?["_index"]?.string?.hasSuffix("-v2") == true)
        // The old indices stay until --delete-old.
        for index in oldIndices { #expect(try es.indexExists(index)) }
    }
}

/// The indexer's routing, for building the "before" indices the same way the indexer would.
enum DocumentRouterProbe {
    static func route(_ value: [UInt8]) -> Result<Indexer.DocumentRouter.Routed, Indexer.DocumentRouter.Rejection> {
        Indexer.DocumentRouter.route(topic: "logs.reidx", partition: 0, offset: 0, value: value)
    }
}
