/// A partition of a topic.
public struct TopicPartition: Hashable, Sendable, CustomStringConvertible, Comparable {
    public var topic: String
    public var partition: Int32

    public init(_ topic: String, _ partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public var description: String { "\(topic)[\(partition)]" }

    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

/// One header of a Kafka record.
public struct KafkaHeader: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]

    public init(_ key: String, _ value: [UInt8]) {
        self.key = key
        self.value = value
    }

    public init(_ key: String, _ value: String) {
        self.init(key, Array(value.utf8))
    }
}

/// A record read from Kafka.
public struct KafkaMessage: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    /// Milliseconds since the epoch (create or log-append time), nil when the broker gave none.
    public var timestampMs: Int64?
    public var headers: [KafkaHeader]

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }

    public init(topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8],
                timestampMs: Int64?, headers: [KafkaHeader]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
        self.headers = headers
    }
}

/// What the broker said about one produced message.
public struct DeliveryReport: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}
