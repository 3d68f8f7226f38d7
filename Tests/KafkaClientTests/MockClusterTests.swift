import Foundation
import KafkaClient
import Synchronization
import Testing
import TestSupport

/// Broker faults on librdkafka's mock cluster: three brokers, one taken down mid-stream.
@Suite(.serialized) struct MockClusterTests {
    @Test func everyMessageDeliveredExactlyOnceWhileABrokerIsDownAndBack() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        try cluster.createTopic("fault.test", partitions: 3, replicationFactor: 3)
        // Partition 0 lives on broker 1. Messages name their partition: librdkafka's partitioner
        // would otherwise steer around a partition without a leader, and nothing would stall.
        try cluster.setPartitionLeader("fault.test", partition: 0, broker: 1)
        let kafka = KafkaConfiguration(brokers: [cluster.bootstrapServers])
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 500, messageTimeoutMs: 0))
        let reports = Mutex<[Int: Int]>([:])
        let failures = Mutex(0)
        let total = 6_000
        // The writer holds at message 1,000 until the broker is down, so the fault always falls mid-stream.
        let brokerIsDown = DispatchSemaphore(value: 0)
        let writer = Thread {
            for index in 0..<total {
                if index == 1_000 { brokerIsDown.wait() }
                try? producer.enqueue(topic: "fault.test", key: nil, value: Array("m\(index)".utf8),
                                      partition: Int32(index % 3)) { result in
                    switch result {
                    case .success: reports.withLock { $0[index, default: 0] += 1 }
                    case .failure: failures.withLock { $0 += 1 }
                    }
                }
            }
        }
        writer.start()
        try waitUntil(timeout: 30, "1,000 deliveries before the fault") { reports.withLock { $0.count } >= 1_000 }
        try cluster.setBrokerDown(1)
        brokerIsDown.signal()
        // Partitions led by broker 1 stall; the producer fills its in-flight bound and waits.
        try waitUntil(timeout: 30, "the producer to stall at its bound") { producer.inFlight == 500 }
        try cluster.setBrokerUp(1)
        try waitUntil(timeout: 60, "the writer to finish") { writer.isFinished }
        try await producer.flush(timeout: .seconds(60))
        #expect(failures.withLock { $0 } == 0)
        #expect(reports.withLock { $0.count } == total)
        #expect(reports.withLock { $0.values.allSatisfy { $0 == 1 } })

        // The log holds each message once: the idempotent producer did not duplicate on retry.
        let admin = try KafkaAdmin(kafka)
        let stored = try (0..<3).reduce(Int64(0)) { $0 + (try admin.watermarks(TopicPartition("fault.test", Int32($1)))).high }
        #expect(stored == Int64(total))
        #expect(producer.inFlight == 0)
    }

    /// Keys land where Kafka's Java client puts them: partition = (murmur2(key) & 0x7fffffff) % n.
    /// The hashes are Kafka's own test vectors (Utils.murmur2), not computed here.
    @Test func keysLandInTheJavaClientsPartitions() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("keys.test", partitions: 7, replicationFactor: 1)
        let javaHashes: [String: Int32] = ["1": -1993445489, "12": 126087238, "123": -267702483, "1234": -1614185708,
                                           "12345": -1188365604, "21": -973932308, "foobar": -790332482]
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: KafkaConfiguration(brokers: [cluster.bootstrapServers])))
        let partitions = Mutex<[String: Int32]>([:])
        for key in javaHashes.keys {
            try producer.enqueue(topic: "keys.test", key: Array(key.utf8), value: Array("v".utf8)) { result in
                if case .success(let report) = result { partitions.withLock { $0[key] = report.partition } }
            }
        }
        try await producer.flush(timeout: .seconds(30))
        for (key, hash) in javaHashes {
            #expect(partitions.withLock { $0[key] } == Int32((UInt32(bitPattern: hash) & 0x7fff_ffff) % 7), "key \(key)")
        }
    }

    /// Closing a member runs its revocation inside `rd_kafka_consumer_close`; from then on
    /// librdkafka may not say which rebalance protocol is in use (it returns NULL, always so once
    /// closed). The callback falls back on the configured assignor and the property reads
    /// `UNKNOWN` instead of crashing on the NULL (which a leaving indexer did, now and then:
    /// "Unexpectedly found nil while implicitly unwrapping an Optional value").
    @Test(arguments: ["range,roundrobin", "cooperative-sticky"])
    func closingAMemberRevokesWithoutAProtocolAnswer(assignor: String) throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("close.test", partitions: 3, replicationFactor: 1)
        let revoked = Mutex<[TopicPartition]>([])
        let consumer = try KafkaConsumer(
            KafkaConsumerConfiguration(kafka: KafkaConfiguration(brokers: [cluster.bootstrapServers]), groupID: "close-group",
                                       assignor: assignor, sessionTimeoutMs: 6_000),
            hooks: RebalanceHooks(onRevoke: { partitions in revoked.withLock { $0 += partitions } }))
        try consumer.subscribe(["close.test"])
        try waitUntil(timeout: 30, interval: 0, "the member to own the three partitions") {
            _ = try consumer.pollBatch(maxMessages: 10, timeoutMs: 100)
            return try consumer.assignment().count == 3
        }
        #expect(consumer.rebalanceProtocol == (assignor == "cooperative-sticky" ? "COOPERATIVE" : "EAGER"))
        consumer.closeBlocking()
        #expect(revoked.withLock { $0.count } == 3, "close revoked what the member owned")
        #expect(consumer.rebalanceProtocol == "UNKNOWN", "librdkafka cannot say once closed (NULL)")
    }

    @Test func inFlightBoundHoldsWhileEveryBrokerIsDown() async throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("bound.test", partitions: 1, replicationFactor: 1)
        let kafka = KafkaConfiguration(brokers: [cluster.bootstrapServers])
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 50, messageTimeoutMs: 0))
        try await producer.send(topic: "bound.test", key: nil, value: Array("warm-up".utf8))
        try cluster.setBrokerDown(1)
        let delivered = Mutex(0)
        let writer = Thread {
            for index in 0..<200 {
                try? producer.enqueue(topic: "bound.test", key: nil, value: Array("m\(index)".utf8)) { result in
                    if case .success = result { delivered.withLock { $0 += 1 } }
                }
            }
        }
        writer.start()
        try waitUntil(timeout: 10, "the in-flight bound to be reached") { producer.inFlight == 50 }
        #expect(producer.inFlight == 50)
        #expect(!writer.isFinished, "enqueue must block at the bound instead of growing memory")
        try cluster.setBrokerUp(1)
        try waitUntil(timeout: 30, "all 200 delivered") { delivered.withLock { $0 } == 200 }
        #expect(producer.inFlight == 0)
    }

    /// Token reports (the agent's path) come in batches, each token once, and a flush returns only
    /// after every report it waited for was handed over and its slot freed.
    @Test func tokenReportsComeInBatchesEachTokenOnce() throws {
        let cluster = try KafkaMockCluster(brokers: 1)
        try cluster.createTopic("tokens.test", partitions: 3, replicationFactor: 1)
        let batches = Mutex<[[UInt]]>([])
        let failed = Mutex(0)
        let producer = try KafkaProducer(
            KafkaProducerConfiguration(kafka: KafkaConfiguration(brokers: [cluster.bootstrapServers]), maxInFlight: 1_000)) { report in
                switch report {
                case .delivered(let tokens): batches.withLock { $0.append(Array(tokens)) }
                case .failed: failed.withLock { $0 += 1 }
                }
            }
        let topic = try producer.topic(named: "tokens.test")
        let total: UInt = 5_000
        for token in 1...total {
            let value = Array("m\(token)".utf8)
            try value.withUnsafeBytes { value in
                while try !producer.enqueue(topic, key: nil, value: value, token: token) {
                    _ = producer.waitForRoom(timeoutMs: 50)
                }
            }
        }
        #expect(producer.flushBlocking(timeoutMs: 30_000))
        #expect(producer.inFlight == 0)
        let delivered = batches.withLock { $0 }
        #expect(failed.withLock { $0 } == 0)
        #expect(delivered.joined().sorted() == Array(1...total), "every token reported once")
        #expect(delivered.count < Int(total) / 10, "\(delivered.count) hand-overs for \(total) reports")
    }
}
