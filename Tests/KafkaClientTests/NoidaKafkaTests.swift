import Foundation
import KafkaClient
import Synchronization
import Testing
import TestSupport

/// Producer, consumer group and admin against a real Kafka-protocol server (noida-db), checked
/// against what Python confluent-kafka reports for the same group and topic.
@Suite(.serialized) struct NoidaKafkaTests {
    @Test func producesConsumesInGroupAndAgreesWithConfluentKafka() async throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let kafka = KafkaConfiguration(brokers: [server.kafkaBootstrap])
        let topic = "it.orders"
        let admin = try KafkaAdmin(kafka)
        try admin.createTopic(topic, partitions: 6)
        #expect(try admin.metadata(topic: topic).topics.first?.partitions.count == 6)

        // 10,000 messages with timestamps one millisecond apart, so offsets-for-time has an answer.
        // Recent timestamps: older ones fall outside the broker's 7-day retention and are deleted.
        let baseTime = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 2_000))
        let delivered = Mutex<[String: Int]>([:])
        for index in 0..<10_000 {
            try producer.enqueue(topic: topic, key: Array("key-\(index % 97)".utf8), value: Array("message \(index)".utf8),
                                 timestampMs: baseTime + Int64(index)) { result in
                if case .success(let report) = result {
                    delivered.withLock { $0["\(report.partition)/\(report.offset)", default: 0] += 1 }
                }
            }
        }
        try await producer.flush(timeout: .seconds(30))
        #expect(delivered.withLock { $0.count } == 10_000)
        #expect(delivered.withLock { $0.values.allSatisfy { $0 == 1 } })

        // Two members of one group split the six partitions and read everything.
        let group = "it-group"
        let config = KafkaConsumerConfiguration(kafka: kafka, groupID: group, sessionTimeoutMs: 6_000)
        let revokedFromFirst = Mutex<[[TopicPartition]]>([])
        let first = try KafkaConsumer(config, hooks: RebalanceHooks(onRevoke: { partitions in
            revokedFromFirst.withLock { $0.append(partitions) }
        }))
        let second = try KafkaConsumer(config)
        try first.subscribe(["^it\\..*"])
        var seen = Set<String>()
        // The first member owns all six partitions before the second arrives.
        try waitUntil(timeout: 30, interval: 0, "the first member to own all partitions") {
            for message in try first.pollBatch(maxMessages: 1, timeoutMs: 100) {
                seen.insert("\(message.partition)/\(message.offset)")
            }
            return try first.assignment().count == 6
        }
        try second.subscribe([topic])
        var lastOffsets: [TopicPartition: Int64] = [:]
        try waitUntil(timeout: 90, interval: 0, "both members to own partitions and all 10,000 messages read") {
            for consumer in [first, second] {
                let batch = try consumer.pollBatch(maxMessages: 1_000, timeoutMs: 100)
                var commit: [TopicPartition: Int64] = [:]
                for message in batch {
                    seen.insert("\(message.partition)/\(message.offset)")
                    commit[message.topicPartition] = max(commit[message.topicPartition] ?? 0, message.offset + 1)
                }
                do {
                    try consumer.commitBlocking(commit)
                    lastOffsets.merge(commit) { max($0, $1) }
                } catch let error as KafkaError where error.isRetriable {
                    // A commit racing a rebalance is refused; the new owner re-reads from the last commit.
                }
            }
            let a = try first.assignment(), b = try second.assignment()
            return seen.count == 10_000 && !a.isEmpty && !b.isEmpty
        }
        let firstOwns = Set(try first.assignment()), secondOwns = Set(try second.assignment())
        #expect(firstOwns.isDisjoint(with: secondOwns))
        #expect(firstOwns.union(secondOwns) == Set((0..<6).map { TopicPartition(topic, $0) }))
        #expect(seen == Set(delivered.withLock { Array($0.keys) }))
        // The second member's arrival made the first give partitions back, through the hook.
        #expect(!revokedFromFirst.withLock { $0 }.isEmpty)

        // Our admin view against confluent-kafka's for the same group and topic.
        let partitions = (0..<6).map { TopicPartition(topic, Int32($0)) }
        let committed = try admin.committedOffsets(group: group, partitions: partitions)
        let probeTime = baseTime + 5_000
        let forTime = try admin.offsetsForTimes(partitions, timestampMs: probeTime)
        let python = try ConfluentKafkaProbe.describe(bootstrap: server.kafkaBootstrap, group: group, topic: topic,
                                                      partitions: 6, timestampMs: probeTime)
        for tp in partitions {
            let p = String(tp.partition)
            let marks = try admin.watermarks(tp)
            #expect(committed[tp]! == python.committed[p], "committed offset of \(tp)")
            #expect(committed[tp]! == lastOffsets[tp], "committed offset of \(tp) is what the members committed")
            #expect(marks.low == python.low[p] && marks.high == python.high[p], "watermarks of \(tp)")
            #expect(forTime[tp] == python.forTime[p], "offset for time on \(tp)")
        }
        #expect(partitions.reduce(Int64(0)) { $0 + (try! admin.watermarks($1)).high } == 10_000)
        first.closeBlocking()
        second.closeBlocking()
    }

    @Test func pauseResumeAndSeekWithinAnAssignment() async throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let kafka = KafkaConfiguration(brokers: [server.kafkaBootstrap])
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, createTopicsWithPartitions: 1))
        for index in 0..<100 {
            try await producer.send(topic: "it.single", key: nil, value: Array("m\(index)".utf8))
        }
        let consumer = try KafkaConsumer(KafkaConsumerConfiguration(kafka: kafka, groupID: "it-seek"))
        try consumer.subscribe(["it.single"])
        var values: [String] = []
        try waitUntil(timeout: 30, interval: 0, "100 messages") {
            values += try consumer.pollBatch(maxMessages: 500, timeoutMs: 100).map { String(decoding: $0.value, as: UTF8.self) }
            return values.count >= 100
        }
        #expect(values == (0..<100).map { "m\($0)" })

        let tp = TopicPartition("it.single", 0)
        try consumer.seek(tp, to: 90)
        var replayed: [String] = []
        try waitUntil(timeout: 30, interval: 0, "10 messages after the seek") {
            replayed += try consumer.pollBatch(maxMessages: 500, timeoutMs: 100).map { String(decoding: $0.value, as: UTF8.self) }
            return replayed.count >= 10
        }
        #expect(replayed == (90..<100).map { "m\($0)" })

        // A wait holds the partition: nothing is delivered until the wait ends.
        try consumer.waiting {
            consumer.holdAssignment()
            try producer.enqueue(topic: "it.single", key: nil, value: Array("late".utf8)) { _ in }
            #expect(producer.flushBlocking(timeoutMs: 10_000))
            #expect(try consumer.pollBatch(maxMessages: 10, timeoutMs: 500).isEmpty, "a held partition delivers nothing")
            #expect(consumer.pauseState(of: tp).state == .held)
        }
        #expect(consumer.pauseState(of: tp).state != .held, "the end of the wait resumed it")
        var late: [String] = []
        try waitUntil(timeout: 30, interval: 0, "the message produced while paused") {
            late += try consumer.pollBatch(maxMessages: 10, timeoutMs: 100).map { String(decoding: $0.value, as: UTF8.self) }
            return !late.isEmpty
        }
        #expect(late == ["late"])
        // A record a wait's poll receives is given back and delivered again after the wait.
        try await producer.send(topic: "it.single", key: nil, value: Array("later".utf8))
        try consumer.waiting {
            try waitUntil(timeout: 30, interval: 0, "a poll during the wait to receive the record") {
                consumer.pollDuringWait(timeoutMs: 100)
                return consumer.pauseState(of: tp).state == .held
            }
        }
        var again: [String] = []
        try waitUntil(timeout: 30, interval: 0, "the record given back during the wait") {
            again += try consumer.pollBatch(maxMessages: 10, timeoutMs: 100).map { String(decoding: $0.value, as: UTF8.self) }
            return !again.isEmpty
        }
        #expect(again == ["later"])
        try consumer.commitBlocking([tp: 102], async: true)
        try waitUntil(timeout: 10, "the async commit to land") { try consumer.committed([tp])[tp]! == 102 }
        consumer.closeBlocking()
    }

    /// A partition read to its end pauses for the idle backoff and resumes (sought to where it
    /// stands, which wakes librdkafka's fetcher): its lag stays 0 through the cycles — the lag
    /// the detector's counters judge idleness by, and `logship lag` shows — and a record written
    /// afterwards is delivered once.
    @Test func anIdlePartitionResumesWhereItStoodWithLagZero() async throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let kafka = KafkaConfiguration(brokers: [server.kafkaBootstrap])
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, createTopicsWithPartitions: 1))
        for index in 0..<20 { try await producer.send(topic: "it.idle", key: nil, value: Array("m\(index)".utf8)) }
        var configuration = KafkaConsumerConfiguration(kafka: kafka, groupID: "it-idle")
        configuration.idleFetchBackoffMs = 100
        let consumer = try KafkaConsumer(configuration)
        try consumer.subscribe(["it.idle"])
        let tp = TopicPartition("it.idle", 0)
        var values: [String] = []
        var cycles = 0
        var wasIdle = false
        // Polls until the partition has been paused at its end and resumed five times.
        try waitUntil(timeout: 60, interval: 0, "20 records and five idle cycles") {
            values += try consumer.pollBatch(maxMessages: 100, timeoutMs: 50).map { String(decoding: $0.value, as: UTF8.self) }
            consumer.resumeIdlePartitions()
            var idle = false
            if case .idle = consumer.pauseState(of: tp).state { idle = true }
            if wasIdle && !idle { cycles += 1 }
            wasIdle = idle
            return values.count >= 20 && cycles >= 5
        }
        #expect(values == (0..<20).map { "m\($0)" })
        #expect(consumer.lag()[tp] == 0, "\(consumer.lag())")
        try await producer.send(topic: "it.idle", key: nil, value: Array("after".utf8))
        var after: [String] = []
        try waitUntil(timeout: 30, interval: 0, "the record written after the idle cycles") {
            after += try consumer.pollBatch(maxMessages: 10, timeoutMs: 50).map { String(decoding: $0.value, as: UTF8.self) }
            consumer.resumeIdlePartitions()
            return !after.isEmpty
        }
        after += try consumer.pollBatch(maxMessages: 10, timeoutMs: 300).map { String(decoding: $0.value, as: UTF8.self) }
        #expect(after == ["after"], "delivered once")
        #expect(consumer.lag()[tp] == 0)
        consumer.closeBlocking()
    }
}
