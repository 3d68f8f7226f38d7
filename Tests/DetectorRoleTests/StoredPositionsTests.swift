@testable import DetectorRole
import Foundation
import KafkaClient
import LogshipConfig
import Testing
import TestSupport

/// The positions a detector stage stores when the plain commit after its transaction fails (a
/// rebalance refused it; librdkafka's mock cluster keeps no transactional offsets): whichever
/// member is given the partition next commits and seeks to them when they are ahead of the
/// group's, deletes them, and leaves alone a record that is behind or too old.
@Suite struct StoredPositionsTests {
    @Test func aPartitionsNextOwnerResumesFromTheStoredPositionOnce() throws {
        let member = try Member(records: ["logs.pay": 100, "logs.ship": 30], topics: ["logship.detector.state"], stage: "test")
        let (service, stage, consumer, producer, first) = (member.service, member.stage, member.consumer, member.producer, member.first)
        defer { withExtendedLifetime(member) {} }  // the mock cluster lives as long as the test
        let p0 = TopicPartition("logs.pay", 0), p1 = TopicPartition("logs.ship", 0)
        // A step's positions whose plain commit failed: p0 at 30, and p1 at 10 with the group
        // already at 20 (behind: nothing to do for it).
        try consumer.commitBlocking([p1: 20])
        StoredPositions.store([p0: 30, p1: 10], service: service, consumer: consumer, producer: stage)
        let reclaimed = StoredPositions.reclaim([p0, p1], service: service, consumer: consumer, producer: stage)
        #expect(reclaimed == [p0: 30])
        #expect(try consumer.committed([p0, p1]) == [p0: 30, p1: 20])
        // The seek: p0's next record is e30; a record polled before it
        // (the one carried over a rebalance) is dropped below the floor.
        var floors = reclaimed
        #expect(StoredPositions.above(&floors, first.filter { $0.topicPartition == p0 && $0.offset < 30 }).isEmpty)
        var next: [KafkaMessage] = []
        try waitUntil(timeout: 30, interval: 0, "p0's record at the stored position") {
            next += try consumer.pollBatch(maxMessages: 100, timeoutMs: 100).filter { $0.topicPartition == p0 }
            return !next.isEmpty
        }
        #expect(next.first?.offset == 30 && next.first.map { String(decoding: $0.value, as: UTF8.self) } == "e30")
        // Deleted once reclaimed (the latest record of each key is a tombstone): a second
        // assignment finds nothing.
        var latest: [String: Int] = [:]
        let admin = service.admin
        let state = try admin.partitions(matching: "^logship\\.detector\\.state$")
        try admin.read(try admin.logOffsets(state).filter { $0.value.low < $0.value.high }.mapValues { $0.low..<$0.high }) { message in
            if let key = message.key { latest[String(decoding: key, as: UTF8.self)] = message.value.count }
        }
        #expect(latest == [StoredPositions.key("logship-detector", p0): 0, StoredPositions.key("logship-detector", p1): 0], "\(latest)")
        #expect(StoredPositions.reclaim([p0, p1], service: service, consumer: consumer, producer: stage).isEmpty)
        // A record older than five minutes is ignored (an operator's offset reset wins).
        let old = try JSONEncoder().encode(StoredPositions.Record(offset: 45, timeMs: StoredPositions.nowMs - 600_000))
        try producer.enqueue(topic: "logship.detector.state", key: Array(StoredPositions.key("logship-detector", p0).utf8),
                             value: Array(old)) { _ in }
        #expect(producer.flushBlocking(timeoutMs: 10_000))
        #expect(StoredPositions.reclaim([p0], service: service, consumer: consumer, producer: stage).isEmpty)
        #expect(try consumer.committed([p0]) == [p0: 30])
        consumer.closeBlocking()
    }

    /// A zombie's late step: the group coordinator refuses the positions of a member whose
    /// generation is gone (Kafka answers its TxnOffsetCommit ILLEGAL_GENERATION — injected here
    /// on the mock cluster, whose coordinator does not check generations itself). The step
    /// fails, its transaction is aborted, the group's position does not move and nothing is
    /// stored for a next owner; the producer goes on with the next step. (That Kafka then hides
    /// the aborted records from read_committed readers is Kafka's part: the mock writes no abort
    /// markers.)
    @Test func aStepFencedAsAZombieMovesNoPositionAndTheNextStepCommits() throws {
        let member = try Member(records: ["logs.pay": 10], topics: ["logship.alerts", "logship.detector.state"], stage: "zombie")
        let (cluster, service, stage, consumer) = (member.cluster, member.service, member.stage, member.consumer)
        defer { withExtendedLifetime(member) {} }
        let p0 = TopicPartition("logs.pay", 0)
        try consumer.commitBlocking([p0: 2])
        let alert = (topic: "logship.alerts", key: "pay", value: Array(#"{"rule":"error_surge"}"#.utf8))
        cluster.pushRequestErrors(apiKey: 28, [22])  // TxnOffsetCommit: ILLEGAL_GENERATION
        let refused = #expect(throws: DetectorRoleError.self) { try service.commit([alert], offsets: [p0: 5], consumer: consumer, producer: stage) }
        #expect("\(refused.map { "\($0)" } ?? "")".contains("generation"), "\(String(describing: refused))")
        #expect(try consumer.committed([p0]) == [p0: 2])
        #expect(StoredPositions.reclaim([p0], service: service, consumer: consumer, producer: stage).isEmpty)
        // The aborted transaction leaves the producer usable: the next step commits.
        try service.commit([alert], offsets: [p0: 5], consumer: consumer, producer: stage)
        #expect(try consumer.committed([p0]) == [p0: 5])
        consumer.closeBlocking()
    }
}

/// A counter-stage member on a fresh one-broker mock cluster: `records` (topic: count, one
/// partition each, values "e0"…, "s0"… by the topic's initial) produced, `topics` created, a
/// transactional stage producer, the consumer subscribed to `logs.*` and its first record polled.
private struct Member {
    let cluster: KafkaMockCluster
    let producer: KafkaProducer
    let service: DetectorService
    let stage: KafkaProducer
    let consumer: KafkaConsumer
    let first: [KafkaMessage]

    init(records: KeyValuePairs<String, Int>, topics: [String], stage name: String) throws {
        cluster = try KafkaMockCluster(brokers: 1)
        for topic in records.map(\.key) + topics + ["logship.health"] { try cluster.createTopic(topic, partitions: 1, replicationFactor: 1) }
        let brokers = cluster.bootstrapServers
        producer = try KafkaProducer(KafkaProducerConfiguration(kafka: KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"])))
        for (topic, count) in records {
            let initial = topic == "logs.ship" ? "s" : "e"
            for index in 0..<count { try producer.enqueue(topic: topic, key: nil, value: Array("\(initial)\(index)".utf8)) { _ in } }
        }
        #expect(producer.flushBlocking(timeoutMs: 10_000))
        let config = try ConfigurationLoader.parse(#"kafka: {brokers: ["\#(brokers)"], properties: {log_level: "0"}}"#)
        service = try DetectorService(configuration: config, logger: .init(label: "test"))
        stage = try service.stageProducer(name)
        try stage.initTransactions()
        consumer = try service.stageConsumer(group: "logship-detector", stage: "counter", changes: AssignmentChanges())
        try consumer.subscribe(["^logs\\..*"])
        var polled: [KafkaMessage] = []
        let consumer = consumer
        try waitUntil(timeout: 30, interval: 0, "the assignment and a first record") {
            polled += try consumer.pollBatch(maxMessages: 1, timeoutMs: 100)
            return !polled.isEmpty
        }
        first = polled
    }
}
