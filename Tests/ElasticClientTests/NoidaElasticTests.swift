import ElasticClient
import Foundation
import LogModel
import Synchronization
import Testing
import TestSupport

/// The Elasticsearch client against noida-db's Elasticsearch API.
@Suite(.serialized) struct NoidaElasticTests {
    @Test func templateBulkConflictsAliasSwapAndAggregations() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let es = try ElasticClient(ElasticConfiguration(url: server.elasticsearchURL))
        #expect(try es.info().version.hasPrefix("8."))

        try es.putIndexTemplate(IndexTemplate.name, IndexTemplate.logs())
        let template = try #require(try es.indexTemplate(IndexTemplate.name))
        #expect(template.description.contains("logs-*"))

        // 5,000 documents over three services; the level mix is known, so the aggregation is too.
        let levels = ["INFO", "WARN", "ERROR", "INFO", "INFO"]
        let index = "logs-payment-2026.11.25"
        let items = (0..<5_000).map { n in
            BulkItem(index: index, id: String(format: "%032x", n), document: Array("""
            {"@timestamp":"2026-11-25T10:00:00.000Z","message":"request \(n)","service":{"name":"payment"},"log":{"level":"\(levels[n % 5])"}}
            """.utf8))
        }
        let first = try items.chunked(1_000).flatMap { try es.bulk($0) }
        #expect(first.count == 5_000 && first.allSatisfy { $0.outcome == .created })

        // The same bulk again: every item is "already there", nothing is written twice.
        let second = try items.chunked(1_000).flatMap { try es.bulk($0) }
        #expect(second.count == 5_000 && second.allSatisfy { $0.outcome == .alreadyExists })
        try es.refresh(index)
        #expect(try es.count(index) == 5_000)

        let answer = try es.search(index, [
            "size": 0,
            "aggs": ["levels": ["terms": ["field": "log.level", "size": 10]]],
        ])
        var buckets: [String: Int] = [:]
        for bucket in answer[path: "aggregations.levels.buckets"]?.array ?? [] {
            buckets[bucket["key"]?.string ?? ""] = bucket["doc_count"]?.int
        }
        #expect(buckets == ["INFO": 3_000, "WARN": 1_000, "ERROR": 1_000])

        // Alias swap: readers through the alias see the old index or the new one, never both or none.
        let newIndex = "logs-payment-2026.11.25-v2"
        try es.createIndex(newIndex)
        _ = try es.bulk((0..<1_234).map { BulkItem(index: newIndex, id: "\($0)", document: Array(#"{"message":"v2"}"#.utf8)) })
        try es.refresh(newIndex)
        let alias = Naming.alias(service: "payment")
        try es.updateAliases([.add(index: index, alias: alias)])
        let observed = Mutex(Set<Int>())
        let stop = Mutex(false)
        let url = server.elasticsearchURL
        let reader = Thread {
            guard let client = try? ElasticClient(ElasticConfiguration(url: url)) else { return }
            while !stop.withLock({ $0 }) {
                if let count = try? client.count(alias) { observed.withLock { _ = $0.insert(count) } }
            }
        }
        reader.start()
        try waitUntil(timeout: 10, "the reader to see the old index") { observed.withLock { $0.contains(5_000) } }
        try es.updateAliases([.remove(index: index, alias: alias), .add(index: newIndex, alias: alias)])
        try waitUntil(timeout: 10, "the reader to see the new index") { observed.withLock { $0.contains(1_234) } }
        stop.withLock { $0 = true }
        try waitUntil(timeout: 10, "the reader to stop") { reader.isFinished }
        #expect(observed.withLock { $0 } == [5_000, 1_234])
        #expect(try es.indices(ofAlias: alias) == [newIndex])

        try es.deleteIndex(newIndex)
        #expect(try !es.indexExists(newIndex))
        #expect(try es.health() != "red")
    }

    @Test func unreachableClusterIsARetriableConnectionErrorNamingTheURL() throws {
        let port = try FreePort.next()
        let es = try ElasticClient(ElasticConfiguration(url: "http://127.0.0.1:\(port)", connectTimeoutMs: 1_000))
        let error = try #require(throws: ElasticError.self) { try es.info() }
        #expect(error.kind == .connection && error.isRetriable)
        #expect(error.message.contains("127.0.0.1:\(port)"))
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String {
        (try? String(decoding: JSONEncoder().encode(self), as: UTF8.self)) ?? "?"
    }
}
