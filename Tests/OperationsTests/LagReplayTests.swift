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
        let lag = try LogshipBinary.run(["lag", "--group", group, "--json"] + brokers)
        #expect(lag.status == 0, "\(lag.stderr)")
        let report = try JSONDecoder().decode(LagReport.self, from: Data(lag.stdout.utf8))
        let entry = try #require(report.groups.first { $0.name == group })
        let byPartition = Dictionary(uniqueKeysWithValues: entry.partitions.map { ($0.partition, $0) })
        #expect(byPartition.mapValues(\.lag) == [0: 0, 1: 60, 2: 100])
        #expect(byPartition[2]?.committed == nil)
        #expect(byPartition[0]?.lagSeconds == 0)
        // The oldest unconsumed messages: offset 40 (160 s old) and offset 0 (200 s old).
        let age1 = try #require(byPartition[1]?.lagSeconds), age2 = try #require(byPartition[2]?.lagSeconds)
        #expect(age1 >= 159 && age1 < 190, "\(age1)")
        #expect(age2 >= 199 && age2 < 230, "\(age2)")
        #expect(entry.lag == 160)
        #expect(entry.topics.map(\.lag) == [160])

        #expect(try LogshipBinary.run(["lag", "--group", group, "--fail-above", "100"] + brokers).status == 3)
        #expect(try LogshipBinary.run(["lag", "--group", group, "--fail-above", "1000"] + brokers).status == 0)
        #expect(try LogshipBinary.run(["lag", "--group", group, "--fail-above", "90s"] + brokers).status == 3)
        #expect(try LogshipBinary.run(["lag", "--group", group, "--fail-above", "10m"] + brokers).status == 0)

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
        let owned = try JSONDecoder().decode(LagReport.self, from: Data(try LogshipBinary.run(["lag", "--group", group, "--json"] + brokers).stdout.utf8))
        #expect(owned.groups.first?.partitions.allSatisfy { $0.owner != nil } == true)
        #expect(owned.groups.first?.members == 1)
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
