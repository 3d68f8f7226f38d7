import ElasticClient
import Foundation
import KafkaClient
import Testing
import TestSupport

/// What cluster/up does, on private ports: 60 s of demo traffic with the incident through one
/// agent and two indexers; every event the demo wrote is in Elasticsearch exactly once.
@Suite(.serialized) struct ClusterUpTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func sixtySecondsOfDemoTrafficArriveExactlyOnceAndDownLeavesNothing() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(UUID().uuidString.prefix(8))")
        let env = ["LOGSHIP_RUN_DIR": run.path, "LOGSHIP_BIN": try LogshipBinary.path()]
        defer {
            _ = try? Subprocess.run(root.appendingPathComponent("cluster/down").path, ["--purge"], environment: env, timeout: 120)
        }
        let up = try Subprocess.run(root.appendingPathComponent("cluster/up").path,
                                    ["--indexers", "2", "--rate", "20", "--demo-duration", "60s"], environment: env, timeout: 600)
        #expect(up.status == 0, "cluster/up failed: \(up.stdout)\(up.stderr)")
        #expect(up.stdout.contains("logship is up") && up.stdout.contains("cluster/down"), "next commands printed")

        let config = try String(contentsOf: run.appendingPathComponent("logship.yml"), encoding: .utf8)
        let esURL = try #require(config.split(separator: "\n").first { $0.contains("url:") }?.split(separator: "\"").dropFirst().first)
        let brokers = try #require(config.split(separator: "\n").first { $0.contains("brokers:") }?.split(separator: "\"").dropFirst().first)
        let pids = run.appendingPathComponent("pids")
        let demoPid = try #require(Int32(try String(contentsOf: pids.appendingPathComponent("demo.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        try waitUntil(timeout: 120, interval: 0.5, "the 60 s of demo traffic to end") { kill(demoPid, 0) != 0 }

        let counts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("demo/demo-counts.json"))) as? [String: Int])
        #expect(counts.keys.sorted() == ["gateway", "inventory", "orders", "payment"])
        let es = try ElasticClient(ElasticConfiguration(url: String(esURL)))
        try waitUntil(timeout: 240, interval: 1, "every demo event to be searchable") {
            try counts.allSatisfy { service, written in
                _ = try? es.refresh("logs-\(service)")
                return ((try? es.count("logs-\(service)")) ?? -1) >= written
            }
        }
        for (service, written) in counts {
            #expect(try es.count("logs-\(service)") == written, "\(service): documents = events written")
            // No duplicates: distinct event ids equal the document count.
            let answer = try es.search("logs-\(service)", ["size": 0, "aggs": ["ids": ["cardinality": ["field": "event.id"]]]])
            #expect(answer[path: "aggregations.ids.value"]?.int == written, "\(service): distinct event ids")
        }
        // The incident left its mark: payment errors with stack traces.
        let errors = try es.count("logs-payment", query: ["term": ["log.level": "ERROR"]])
        #expect(errors > 10)

        // The group catches up to lag 0.
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [String(brokers)], properties: ["log_level": "0"]))
        try waitUntil(timeout: 60, interval: 1, "the indexer group to reach lag 0") {
            var lag: Int64 = 0
            for topic in try admin.metadata().topics where topic.name.hasPrefix("logs.") && topic.name != "logs.dlq" {
                let partitions = topic.partitions.map { TopicPartition(topic.name, $0.id) }
                let committed = try admin.committedOffsets(group: "logship-indexer", partitions: partitions)
                for tp in partitions { lag += try admin.watermarks(tp).high - ((committed[tp] ?? nil) ?? 0) }
            }
            return lag == 0
        }

        let allPids = try FileManager.default.contentsOfDirectory(atPath: pids.path).compactMap {
            Int32((try? String(contentsOf: pids.appendingPathComponent($0), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        }
        #expect(allPids.count == 6, "noida, demo, agent, two indexers, detector")
        let down = try Subprocess.run(root.appendingPathComponent("cluster/down").path, [], environment: env, timeout: 120)
        #expect(down.status == 0)
        for pid in allPids { #expect(kill(pid, 0) != 0, "pid \(pid) still running after cluster/down") }
    }
}
