import CRdKafka

/// librdkafka's in-process mock cluster: N brokers on loopback that other clients, in this
/// process or another, reach through `bootstrapServers`. For fault tests: brokers down/up,
/// leader moves, injected errors. It lacks ListGroups and offsets-for-times, and refuses
/// CreateTopics over the protocol, so topics are made with `createTopic`.
/// @unchecked Sendable: owns a librdkafka mock cluster handle (thread-safe by librdkafka's contract).
public final class KafkaMockCluster: @unchecked Sendable {
    private let host: OpaquePointer
    private let cluster: OpaquePointer
    public let brokerCount: Int
    public let bootstrapServers: String

    public init(brokers: Int) throws {
        host = try RDKafka.makeHandle(RD_KAFKA_PRODUCER, properties: ["log_level": "2"])
        guard let cluster = rd_kafka_mock_cluster_new(host, Int32(brokers)) else {
            rd_kafka_destroy(host)
            throw KafkaError.client("cannot start a mock cluster of \(brokers) brokers")
        }
        self.cluster = cluster
        brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(host)
    }

    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws {
        let err = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "mock cluster: create topic \(name)") }
    }

    /// Broker ids run from 1 to `brokerCount`.
    public func setBrokerDown(_ id: Int32) throws {
        let err = rd_kafka_mock_broker_set_down(cluster, id)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "mock cluster: broker \(id) down") }
    }

    public func setBrokerUp(_ id: Int32) throws {
        let err = rd_kafka_mock_broker_set_up(cluster, id)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "mock cluster: broker \(id) up") }
    }

    public func setPartitionLeader(_ topic: String, partition: Int32, broker: Int32) throws {
        let err = rd_kafka_mock_partition_set_leader(cluster, topic, partition, broker)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "mock cluster: move leader of \(topic)[\(partition)]") }
    }

    /// The next `errors.count` requests of API `apiKey` (any broker, any client) are answered
    /// with these Kafka error codes, in order: what a broker answers in a fault (for example
    /// ILLEGAL_GENERATION, 22, to a TxnOffsetCommit, 28, of a member whose generation is gone).
    public func pushRequestErrors(apiKey: Int16, _ errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        codes.withUnsafeBufferPointer { rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, $0.baseAddress) }
    }

    /// Adds round-trip delay to one broker, in milliseconds.
    public func setBrokerRTT(_ id: Int32, ms: Int) throws {
        let err = rd_kafka_mock_broker_set_rtt(cluster, id, Int32(ms))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "mock cluster: RTT on broker \(id)") }
    }
}
