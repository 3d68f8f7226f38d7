import Foundation
import KafkaClient
import Operations
import Testing
import TestSupport

@Suite(.serialized) struct ArchiveRetentionTests {
    /// Every record of a topic, per partition in offset order, as (key, value, timestamp).
    func contents(_ admin: KafkaAdmin, _ topic: String, partitions: Int) throws -> [Int32: [String]] {
        let tps = (0..<partitions).map { TopicPartition(topic, Int32($0)) }
        let offsets = try admin.logOffsets(tps)
        var out: [Int32: [String]] = [:]
        try admin.read(Dictionary(uniqueKeysWithValues: tps.map { ($0, offsets[$0]!.low..<offsets[$0]!.high) })) { m in
            out[m.partition, default: []].append("\(String(decoding: m.key ?? [], as: UTF8.self))|\(String(decoding: m.value, as: UTF8.self))|\(m.timestampMs ?? -1)")
        }
        return out
    }

    @Test func exportDeleteImportGivesTheSameRecordsAndATruncatedSegmentKeepsItsHead() async throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let kafka = KafkaConfiguration(brokers: [server.kafkaBootstrap])
        let admin = try KafkaAdmin(kafka)
        let topic = "logs.archived"
        try admin.createTopic(topic, partitions: 3)
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 100_000
        let day = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 5_000))
        for index in 0..<3_000 {
            // One binary value among the JSON events: it must survive too (base64 in the segment).
            let value = index == 7 ? [0xFF, 0x00, 0xFE] : Array(
                #"{"@timestamp":"\#(day)T10:00:00.000Z","message":"event \#(index)","event":{"id":"\#(String(format: "%032x", index + 1))"}}"#.utf8)
            try producer.enqueue(topic: topic, key: Array("k\(index % 11)".utf8), value: value, partition: Int32(index % 3),
                                 timestampMs: base + Int64(index)) { _ in }
        }
        try await producer.flush(timeout: .seconds(30))
        let original = try contents(admin, topic, partitions: 3)
        #expect(original.values.reduce(0) { $0 + $1.count } == 3_000)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("archive-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let brokers = ["--brokers", server.kafkaBootstrap]
        let cluster = brokers + ["--es-url", server.elasticsearchURL]
        // The documents as indexed from the original topic.
        let before = try LogshipBinary.run(["reindex", "--service", "archived", "--suffix", "before", "--json"] + cluster)
        #expect(before.status == 0, "\(before.stderr)")
        let export = try LogshipBinary.run(["archive", "export", "--topic", "^logs\\.archived$", "--out", dir.path, "--json"] + brokers)
        #expect(export.status == 0, "\(export.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any]
        #expect(summary?["records"] as? Int == 3_000 && summary?["segments"] as? Int == 3)

        try admin.deleteTopic(topic)
        try waitUntil(timeout: 30, "the topic to be gone") { try !admin.metadata().topics.contains { $0.name == topic } }
        let imported = try LogshipBinary.run(["archive", "import", dir.path, "--json"] + brokers)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try contents(admin, topic, partitions: 3) == original)
        // Indexed again from the imported topic: the same documents, under the same ids.
        let after = try LogshipBinary.run(["reindex", "--service", "archived", "--suffix", "after", "--json"] + cluster)
        #expect(after.status == 0, "\(after.stderr)")
        let counts = try [before, after].map { run -> [String: Int] in
            let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return ["documents": json?["documents"] as? Int ?? -1, "created": json?["created"] as? Int ?? -1,
                    "rejected": json?["rejected"] as? Int ?? -1]
        }
        #expect(counts[0] == ["documents": 3_000, "created": 2_999, "rejected": 1] && counts[1] == counts[0])
        let indexBefore = "logs-archived-\(day.replacingOccurrences(of: "-", with: "."))-before"
        let indexAfter = indexBefore.replacingOccurrences(of: "-before", with: "-after")
        for index in [indexBefore, indexAfter] {
            _ = try Subprocess.run("/usr/bin/curl", ["-sf", "-XPOST", "\(server.elasticsearchURL)/\(index)/_refresh"])
        }
        let documentsBefore = try Self.documents(server, indexBefore)
        #expect(documentsBefore.count == 2_999)
        #expect(try Self.documents(server, indexAfter) == documentsBefore)

        // Renamed on the way in, from a segment cut in half: the head is imported, the file named.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as? [String: Any]
        let first = try #require((manifest?["segments"] as? [[String: Any]])?.first { $0["partition"] as? Int == 1 })
        let file = dir.appendingPathComponent(first["file"] as! String)
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(bytes.count / 2).write(to: file)
        let damaged = try LogshipBinary.run(["archive", "import", dir.path, "--topic-map", "\(topic)=logs.restored", "--json"] + brokers)
        #expect(damaged.status == 1)
        let report = try JSONSerialization.jsonObject(with: Data(damaged.stdout.utf8)) as? [String: Any]
        let problems = report?["problems"] as? [String] ?? []
        #expect(problems.count == 1 && problems[0].contains(first["file"] as! String), "\(problems)")
        let restored = try contents(admin, "logs.restored", partitions: 3)
        #expect(restored[0] == original[0] && restored[2] == original[2])
        let head = try #require(restored[1])
        #expect(!head.isEmpty && head.count < 1_000)
        #expect(Array(original[1]!.prefix(head.count)) == head)
        #expect(problems[0].contains("the \(head.count) records before it were imported"))
    }

    @Test func retentionPicksDailyIndicesBeforeTheCutoffOnly() {
        let names = ["logs-payment-2026.11.18", "logs-payment-2026.11.19", "logs-payment-2026.11.26", "logs-orders-2026.10.01-v2",
                     "logs-payment", "logs-x-notadate", "other-2020.01.01", "logs-a-b-2026.11.01"]
        let expired = Retention.expired(names, days: 7, today: (2026, 11, 26))
        #expect(expired.map(\.index) == ["logs-orders-2026.10.01-v2", "logs-a-b-2026.11.01", "logs-payment-2026.11.18"])
    }

    @Test func retentionDeletesOnlyWithExecute() throws {
        let server = try NoidaDB.start(services: ["elasticsearch"])
        defer { server.destroy() }
        let old = "logs-ret-2020.01.01", recent = Self.todayIndex("logs-ret")
        for index in [old, recent, "unrelated-2020.01.01"] {
            _ = try Subprocess.run("/usr/bin/curl", ["-sf", "-XPUT", "\(server.elasticsearchURL)/\(index)", "-H", "Content-Type: application/json", "-d", "{}"])
        }
        let es = ["--es-url", server.elasticsearchURL]
        let dry = try LogshipBinary.run(["retention", "--days", "30", "--json"] + es)
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any]
        #expect((plan?["expired"] as? [[String: Any]])?.compactMap { $0["index"] as? String } == [old])
        #expect(try Self.indices(server).contains(old))
        let run = try LogshipBinary.run(["retention", "--days", "30", "--execute"] + es)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Self.indices(server) == Set([recent, "unrelated-2020.01.01"]))
    }

    /// Every document of an index as id → source, read with one search.
    static func documents(_ server: NoidaDB, _ index: String) throws -> [String: String] {
        let result = try Subprocess.run("/usr/bin/curl", ["-sf", "-H", "Content-Type: application/json",
                                                          "\(server.elasticsearchURL)/\(index)/_search", "-d", #"{"size": 10000}"#])
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let hits = (json?["hits"] as? [String: Any])?["hits"] as? [[String: Any]] ?? []
        var out: [String: String] = [:]
        for hit in hits {
            let source = try JSONSerialization.data(withJSONObject: hit["_source"] ?? [:], options: [.sortedKeys])
            out[hit["_id"] as? String ?? ""] = String(decoding: source, as: UTF8.self)
        }
        return out
    }

    static func todayIndex(_ prefix: String) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy.MM.dd"
        f.timeZone = TimeZone(identifier: "UTC")
        return "\(prefix)-\(f.string(from: Date()))"
    }

    static func indices(_ server: NoidaDB) throws -> Set<String> {
        let result = try Subprocess.run("/usr/bin/curl", ["-sf", "\(server.elasticsearchURL)/_cat/indices?format=json&h=index"])
        let rows = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
        return Set(rows.compactMap { $0["index"] as? String })
    }
}
