import Foundation
import KafkaClient
import Operations
import Testing
import TestSupport

/// `logship lag` and `logship replay` against a Kafka-protocol server (noida-db), with offsets
/// and message times the test sets itself.
@Suite(.serialized) struct LagReplayTests {
    @Test func lagInMessagesAndSecondsFailAboveAndReplay() async throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let kafka = KafkaConfiguration(brokers: [server.kafkaBootstrap])
        let admin = try KafkaAdmin(kafka)
        let topic = "logs.lagtest"
        try admin.createTopic(topic, partitions: 3)
        // 100 messages per partition; offset i was written at base + i seconds.
        let base = Int64(Date().timeIntervalSince1970 * 1000) - 200_000
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 1_000))
        for partition in Int32(0)..<3 {
            for index in 0..<100 {
                try producer.enqueue(topic: topic, key: nil, value: Array("m\(index)".utf8), partition: partition,
                                     timestampMs: base + Int64(index) * 1000) { _ in }
            }
        }
        try await producer.flush(timeout: .seconds(30))
        let group = "lag-group"
        // Partition 0 caught up, 1 at offset 40, 2 never committed.
        try admin.commitOffsets(group: group, offsets: [TopicPartition(topic, 0): 100, TopicPartition(topic, 1): 40])

        let brokers = ["--brokers", server.kafkaBootstrap]
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let lag = try LogshipBinary.run(["lag", "--group", group, "--json"] + brokers)
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(lag.status == 0, "\(lag.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(lag.stdout.utf8)) as? [String: Any])
        let rows = (report["partitions"] as? [[String: Any]] ?? []).filter { $0["group"] as? String == group }
        let byPartition = Dictionary(uniqueKeysWithValues: rows.map { ($0["partition"] as? Int ?? -1, $0) })
        // The same numbers as Python confluent-kafka reads for this group.
        let probe = try ConfluentKafkaProbe.describe(bootstrap: server.kafkaBootstrap, group: group, topic: topic, partitions: 3,
                                                     timestampMs: base)
        for partition in 0..<3 {
            let row = try #require(byPartition[partition])
            let key = String(partition)
            let committed = probe.committed[key] ?? nil
            #expect(row["committed"] as? Int64 == committed.map { $0 } || (committed == nil && row["committed"] is NSNull))
            #expect(row["end"] as? Int64 == probe.high[key])
            #expect(row["lag"] as? Int64 == probe.high[key]! - (committed ?? probe.low[key]!))
            #expect(row["owner"] is NSNull)
            #expect(row["status"] as? String == "STOP" || row["lag"] as? Int64 == 0)
        }
        // Lag in seconds: the age of the oldest unconsumed message (offset 40, then offset 0),
        // within a second of the truth while the command ran.
        for (partition, offset) in [(1, Int64(40)), (2, Int64(0))] {
            let seconds = try #require(byPartition[partition]?["lag_seconds"] as? Double)
            let written = base + offset * 1000
            #expect(seconds >= Double(before - written) / 1000 - 1 && seconds <= Double(after - written) / 1000 + 1, "\(seconds)")
        }
        #expect(byPartition[0]?["lag_seconds"] as? Double == 0)
        let groupRow = try #require((report["groups"] as? [[String: Any]])?.first { $0["group"] as? String == group })
        #expect(groupRow["lag"] as? Int64 == 160)
        #expect(groupRow["status"] as? String == "ERR")

        #expect(try LogshipBinary.run(["lag", "--group", group, "--fail-above", "100"] + brokers).status == 3)
        #expect(try LogshipBinary.run(["lag", "--group", group, "--fail-above", "1000"] + brokers).status == 0)
        #expect(try LogshipBinary.run(["lag", "--group", group, "--fail-above", "90s"] + brokers).status == 3)
        // Above the oldest message's age however long this machine took to get here (~200 s
        // plus the run so far: a loaded CI took minutes, and a fixed 10m failed there).
        let oldest = Int((Int64(Date().timeIntervalSince1970 * 1000) - base) / 1000)
        #expect(try LogshipBinary.run(["lag", "--group", group, "--fail-above", "\(oldest / 60 + 5)m"] + brokers).status == 0)

        // Dry run: shows what would be re-read, changes nothing.
        let dry = try LogshipBinary.run(["replay", "--group", group, "--topic", "^logs\\.lagtest$", "--to-earliest", "--json"] + brokers)
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [String: Any]
        #expect(plan?["reRead"] as? Int == 140 && plan?["executed"] as? Bool == false)
        let partitions = (0..<3).map { TopicPartition(topic, Int32($0)) }
        #expect(try admin.committedOffsets(group: group, partitions: partitions).values.map { $0 } .sorted { ($0 ?? -1) < ($1 ?? -1) } == [nil, 40, 100])

        // Execute to a time: every partition goes to the first message at or after base + 50 s.
        let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(base + 50_000) / 1000))
        let executed = try LogshipBinary.run(["replay", "--group", group, "--topic", "^logs\\.lagtest$", "--to-datetime", when,
                                              "--execute"] + brokers)
        #expect(executed.status == 0, "\(executed.stderr)")
        #expect(try admin.committedOffsets(group: group, partitions: partitions).values.allSatisfy { $0 == 50 })

        // By duration: back from now to base + 70.2 s, i.e. offset 71 (wherever "now" fell while it ran).
        let duration = Int64(Date().timeIntervalSince1970 * 1000) - (base + 70_200)
        let startedAt = Int64(Date().timeIntervalSince1970 * 1000)
        let byDuration = try LogshipBinary.run(["replay", "--group", group, "--topic", "^logs\\.lagtest$", "--by-duration", "\(duration)ms",
                                                "--execute"] + brokers)
        let endedAt = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(byDuration.status == 0, "\(byDuration.stderr)")
        let earliest = (startedAt - duration - base + 999) / 1000, latest = (endedAt - duration - base + 999) / 1000
        let moved = try admin.committedOffsets(group: group, partitions: partitions).values.compactMap { $0 }
        #expect(moved.count == 3 && Set(moved).count == 1 && moved.allSatisfy { $0 >= earliest && $0 <= latest }, "\(moved)")

        // With a member running, the reset is refused and the owner shows in lag.
        let consumer = try KafkaConsumer(KafkaConsumerConfiguration(kafka: kafka, groupID: group, sessionTimeoutMs: 6_000))
        try consumer.subscribe([topic])
        try waitUntil(timeout: 30, interval: 0, "the member to own the partitions") {
            _ = try consumer.pollBatch(maxMessages: 1, timeoutMs: 100)
            return try consumer.assignment().count == 3
        }
        let refused = try LogshipBinary.run(["replay", "--group", group, "--topic", "^logs\\.lagtest$", "--to-latest", "--execute"] + brokers)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("active member"), "\(refused.stderr)")
        let owned = try #require(try JSONSerialization.jsonObject(
            with: Data(try LogshipBinary.run(["lag", "--group", group, "--json"] + brokers).stdout.utf8)) as? [String: Any])
        #expect((owned["partitions"] as? [[String: Any]])?.allSatisfy { $0["owner"] is String } == true)
        #expect((owned["groups"] as? [[String: Any]])?.first?["members"] as? Int == 1)
        consumer.closeBlocking()

        // Usage errors: no target, two targets.
        #expect(try LogshipBinary.run(["replay", "--group", group, "--topic", "x"] + brokers).status == 2)
        #expect(try LogshipBinary.run(["replay", "--group", group, "--topic", "x", "--to-earliest", "--to-latest"] + brokers).status == 2)
    }

    @Test func resetTargetsStayInsideTheLog() {
        #expect(OffsetReset.target(.earliest, current: 40, logStart: 10, logEnd: 100, timeOffset: nil) == 10)
        #expect(OffsetReset.target(.latest, current: 40, logStart: 10, logEnd: 100, timeOffset: nil) == 100)
        #expect(OffsetReset.target(.shift(-50), current: 40, logStart: 10, logEnd: 100, timeOffset: nil) == 10)
        #expect(OffsetReset.target(.shift(25), current: nil, logStart: 10, logEnd: 100, timeOffset: nil) == 35)
        #expect(OffsetReset.target(.offset(500), current: 40, logStart: 10, logEnd: 100, timeOffset: nil) == 100)
        #expect(OffsetReset.target(.duration(60_000), current: 40, logStart: 10, logEnd: 100, timeOffset: 70) == 70)
        #expect(OffsetReset.target(.datetime(0), current: 40, logStart: 10, logEnd: 100, timeOffset: nil) == 100)
    }
}
