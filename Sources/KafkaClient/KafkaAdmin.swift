import CRdKafka
import Foundation

/// Cluster metadata as one broker reports it.
public struct ClusterMetadata: Sendable {
    public struct Broker: Sendable, Equatable {
        public var id: Int32
        public var host: String
        public var port: Int32
    }

    public struct Partition: Sendable {
        public var id: Int32
        public var leader: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]
        public var errorName: String?
    }

    public struct Topic: Sendable {
        public var name: String
        public var partitions: [Partition]
        public var errorName: String?
    }

    public var brokers: [Broker]
    public var topics: [Topic]
    public var originatingBroker: String
}

/// A consumer group as the broker describes it.
public struct ConsumerGroupInfo: Sendable {
    public struct Member: Sendable {
        public var memberID: String
        public var clientID: String
        public var host: String
        public var assignment: [TopicPartition]
    }

    public var name: String
    public var state: String
    public var protocolType: String
    public var assignor: String
    public var members: [Member]
}

/// Topic and group administration and offset queries. Every call blocks: run it from a dedicated
/// thread, or through the async wrappers, which use the admin's own executor.
/// @unchecked Sendable: owns a librdkafka handle (thread-safe by librdkafka's contract).
public final class KafkaAdmin: @unchecked Sendable {
    let handle: OpaquePointer
    let configuration: KafkaConfiguration
    private let executor = BlockingExecutor(label: "logship.kafka.admin")
    public let timeoutMs: Int32

    public init(_ configuration: KafkaConfiguration, timeoutMs: Int32 = 10_000) throws {
        self.configuration = configuration
        self.timeoutMs = timeoutMs
        handle = try RDKafka.makeHandle(RD_KAFKA_PRODUCER, properties: configuration.merged([:]))
    }

    deinit { rd_kafka_destroy(handle) }

    /// Runs a blocking admin call off the cooperative pool.
    public func run<T: Sendable>(_ body: @escaping @Sendable (KafkaAdmin) throws -> T) async throws -> T {
        try await executor.run { try body(self) }
    }

    // MARK: Topics

    public func metadata(topic: String? = nil) throws -> ClusterMetadata {
        var pointer: UnsafePointer<rd_kafka_metadata>?
        var err: rd_kafka_resp_err_t
        if let topic {
            let rkt = rd_kafka_topic_new(handle, topic, nil)
            defer { rd_kafka_topic_destroy(rkt) }
            err = rd_kafka_metadata(handle, 0, rkt, &pointer, timeoutMs)
        } else {
            err = rd_kafka_metadata(handle, 1, nil, &pointer, timeoutMs)
        }
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let pointer else {
            throw KafkaError(err, "cannot read cluster metadata from \(configuration.brokers.joined(separator: ","))")
        }
        defer { rd_kafka_metadata_destroy(pointer) }
        let md = pointer.pointee
        let brokers = (0..<Int(md.broker_cnt)).map { index in
            let broker = md.brokers[index]
            return ClusterMetadata.Broker(id: broker.id, host: String(cString: broker.host), port: broker.port)
        }
        let topics = (0..<Int(md.topic_cnt)).map { index -> ClusterMetadata.Topic in
            let topic = md.topics[index]
            let partitions = (0..<Int(topic.partition_cnt)).map { pIndex -> ClusterMetadata.Partition in
                let p = topic.partitions[pIndex]
                return ClusterMetadata.Partition(
                    id: p.id, leader: p.leader,
                    replicas: (0..<Int(p.replica_cnt)).map { p.replicas[$0] },
                    inSyncReplicas: (0..<Int(p.isr_cnt)).map { p.isrs[$0] },
                    errorName: p.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : String(cString: rd_kafka_err2name(p.err)))
            }.sorted { $0.id < $1.id }
            return ClusterMetadata.Topic(
                name: String(cString: topic.topic), partitions: partitions,
                errorName: topic.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : String(cString: rd_kafka_err2name(topic.err)))
        }.sorted { $0.name < $1.name }
        return ClusterMetadata(brokers: brokers.sorted { $0.id < $1.id }, topics: topics,
                               originatingBroker: String(cString: md.orig_broker_name))
    }

    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = -1,
                            config: [String: String] = [:], ignoreExisting: Bool = false) throws {
        try Self.createTopic(on: handle, name: name, partitions: partitions, replicationFactor: replicationFactor,
                             config: config, timeoutMs: timeoutMs, ignoreExisting: ignoreExisting)
    }

    public func deleteTopic(_ name: String) throws {
        let topic = rd_kafka_DeleteTopic_new(name)
        var topics: [OpaquePointer?] = [topic]
        defer { rd_kafka_DeleteTopic_destroy(topic) }
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        rd_kafka_DeleteTopics(handle, &topics, 1, nil, queue)
        try Self.awaitTopicResult(queue, timeoutMs: timeoutMs, what: "delete topic \(name)", ignoring: []) {
            var count = 0
            let result = rd_kafka_event_DeleteTopics_result($0)
            return (rd_kafka_DeleteTopics_result_topics(result, &count), count)
        }
    }

    /// Whether the cluster lists the topic (all-topics metadata: asking for one topic by name
    /// auto-creates it on brokers that allow that); nil when the cluster did not answer.
    static func topicExists(on handle: OpaquePointer, name: String, timeoutMs: Int32) -> Bool? {
        var pointer: UnsafePointer<rd_kafka_metadata>?
        guard rd_kafka_metadata(handle, 1, nil, &pointer, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR, let pointer else { return nil }
        defer { rd_kafka_metadata_destroy(pointer) }
        let md = pointer.pointee
        return (0..<Int(md.topic_cnt)).contains { index in
            md.topics[index].err == RD_KAFKA_RESP_ERR_NO_ERROR && String(cString: md.topics[index].topic) == name
        }
    }

    static func createTopic(on handle: OpaquePointer, name: String, partitions: Int, replicationFactor: Int,
                            config: [String: String] = [:], timeoutMs: Int32, ignoreExisting: Bool) throws {
        var errbuf = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(name, Int32(partitions), Int32(replicationFactor), &errbuf, errbuf.count) else {
            throw KafkaError.client("cannot create topic \(name): \(String(cString: errbuf))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (key, value) in config { rd_kafka_NewTopic_set_config(newTopic, key, value) }
        var topics: [OpaquePointer?] = [newTopic]
        let queue = rd_kafka_queue_new(handle)
        defer { rd_kafka_queue_destroy(queue) }
        rd_kafka_CreateTopics(handle, &topics, 1, nil, queue)
        try awaitTopicResult(queue, timeoutMs: timeoutMs, what: "create topic \(name)",
                             ignoring: ignoreExisting ? [RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS] : []) {
            var count = 0
            let result = rd_kafka_event_CreateTopics_result($0)
            return (rd_kafka_CreateTopics_result_topics(result, &count), count)
        }
    }

    private static func awaitTopicResult(
        _ queue: OpaquePointer?, timeoutMs: Int32, what: String, ignoring: Set<rd_kafka_resp_err_t>,
        topics: (OpaquePointer?) -> (UnsafeMutablePointer<OpaquePointer?>?, Int)
    ) throws {
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 1000) else {
            throw KafkaError.client("\(what): no answer from the cluster within \(timeoutMs) ms", retriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let eventErr = rd_kafka_event_error(event)
        if eventErr != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(eventErr, "\(what): \(String(cString: rd_kafka_event_error_string(event)))")
        }
        let (results, count) = topics(event)
        for index in 0..<count {
            guard let result = results?[index] else { continue }
            let err = rd_kafka_topic_result_error(result)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR && !ignoring.contains(err) {
                let detail = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? ""
                throw KafkaError(err, "\(what): \(detail)")
            }
        }
    }

    // MARK: Offsets

    /// Low and high watermarks (log start, log end) of one partition, asked of its leader.
    public func watermarks(_ tp: TopicPartition) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "cannot read watermarks of \(tp)") }
        return (low, high)
    }

    /// For each partition, the earliest offset whose timestamp is at or after `timestampMs`;
    /// the log-end offset when no such message exists (Kafka's ListOffsets semantics).
    public func offsetsForTimes(_ partitions: [TopicPartition], timestampMs: Int64) throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        var result: [TopicPartition: Int64] = [:]
        for (tp, offset, partErr) in try listOffsets(partitions, timestamp: timestampMs) {
            guard partErr == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(partErr, "offsets for time on \(tp)") }
            result[tp] = offset == Int64(RD_KAFKA_OFFSET_END) ? try watermarks(tp).high : offset
        }
        return result
    }

    /// One ListOffsets request for many partitions (timestamp -1: log end, -2: log start).
    func listOffsets(_ partitions: [TopicPartition], timestamp: Int64) throws -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
        let list = RDKafka.makeList(partitions.map { ($0, timestamp) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_offsets_for_times(handle, list, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "cannot look up offsets for time \(timestamp)") }
        return RDKafka.read(list)
    }

    /// A group's committed offsets; nil for a partition without a commit.
    public func committedOffsets(group: String, partitions: [TopicPartition]) throws -> [TopicPartition: Int64?] {
        let consumerConfig = KafkaConsumerConfiguration(kafka: configuration, groupID: group)
        var properties = consumerConfig.librdkafkaProperties
        properties["client.id"] = configuration.clientID + "-offsets"
        let consumer = try RDKafka.makeHandle(RD_KAFKA_CONSUMER, properties: properties)
        defer { rd_kafka_destroy(consumer) }
        return try RDKafka.committed(on: consumer, group: group, partitions, timeoutMs: timeoutMs)
    }

    /// Commits offsets for a group that has no active member (replay, reset).
    public func commitOffsets(group: String, offsets: [TopicPartition: Int64]) throws {
        let consumerConfig = KafkaConsumerConfiguration(kafka: configuration, groupID: group)
        let consumer = try RDKafka.makeHandle(RD_KAFKA_CONSUMER, properties: consumerConfig.librdkafkaProperties)
        defer { rd_kafka_destroy(consumer) }
        let list = RDKafka.makeList(offsets.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(consumer, list, 0)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "cannot commit offsets for group \(group)") }
        for (tp, _, partErr) in RDKafka.read(list) where partErr != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(partErr, "commit for group \(group) on \(tp)")
        }
    }

    // MARK: Groups

    /// Lists groups (with members and their assignments) where the broker supports it. The mock
    /// cluster does not: that comes back as a KafkaError saying so.
    public func listGroups(_ group: String? = nil) throws -> [ConsumerGroupInfo] {
        var pointer: UnsafePointer<rd_kafka_group_list>?
        let err = rd_kafka_list_groups(handle, group, &pointer, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let pointer else {
            if err == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION || err == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE {
                throw KafkaError(err, "this broker does not support listing consumer groups (ListGroups); name the groups explicitly")
            }
            throw KafkaError(err, "cannot list consumer groups")
        }
        defer { rd_kafka_group_list_destroy(pointer) }
        let list = pointer.pointee
        return (0..<Int(list.group_cnt)).map { index in
            let g = list.groups[index]
            let members = (0..<Int(g.member_cnt)).map { mIndex -> ConsumerGroupInfo.Member in
                let m = g.members[mIndex]
                let bytes = m.member_assignment.map {
                    Array(UnsafeRawBufferPointer(start: $0, count: Int(m.member_assignment_size)))
                } ?? []
                return ConsumerGroupInfo.Member(
                    memberID: String(cStringOrNil: m.member_id) ?? "", clientID: String(cStringOrNil: m.client_id) ?? "",
                    host: String(cStringOrNil: m.client_host) ?? "",
                    assignment: (try? MemberAssignment.decode(bytes)) ?? [])
            }
            // A null string from the broker arrives as NULL (an empty group has no protocol).
            return ConsumerGroupInfo(name: String(cStringOrNil: g.group) ?? "", state: String(cStringOrNil: g.state) ?? "",
                                     protocolType: String(cStringOrNil: g.protocol_type) ?? "",
                                     assignor: String(cStringOrNil: g.protocol) ?? "", members: members)
        }.sorted { $0.name < $1.name }
    }
}
