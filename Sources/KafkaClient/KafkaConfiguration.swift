/// Settings shared by producer, consumer and admin handles. `properties` passes any librdkafka
/// property through unchanged (SASL, TLS, tuning) and wins over the defaults logship sets.
public struct KafkaConfiguration: Sendable {
    public var brokers: [String]
    public var clientID: String
    public var properties: [String: String]
    /// Producers' compression codec (`zstd`, `lz4`, `snappy`, `gzip`, `none`) and level (nil:
    /// `defaultCompressionLevels`, else the codec's default); `properties` still win.
    public var compression: String
    public var compressionLevel: Int?

    /// zstd at level 1, not librdkafka's 3: at the batch sizes producers make here (a few
    /// hundred KB) it compresses as small or smaller, sets up smaller tables for every batch
    /// (level 3 clears ~0.8 MB of them each time), and costs 7 % fewer instructions per shipped
    /// event and 2 MB less memory in the agent (README, bench/compression.sh).
    public static let defaultCompressionLevels: [String: Int] = ["zstd": 1]

    /// The level producers use: the configured one, else logship's default for the codec (nil: librdkafka's).
    public var effectiveCompressionLevel: Int? { compressionLevel ?? Self.defaultCompressionLevels[compression] }

    public init(brokers: [String], clientID: String = "logship", properties: [String: String] = [:],
                compression: String = "zstd", compressionLevel: Int? = nil) {
        self.brokers = brokers
        self.clientID = clientID
        self.properties = properties
        self.compression = compression
        self.compressionLevel = compressionLevel
    }

    /// Properties for librdkafka: defaults first, then the role's own, then the user's pass-through.
    func merged(_ roleDefaults: [String: String]) -> [String: String] {
        var all: [String: String] = [
            "bootstrap.servers": brokers.joined(separator: ","),
            "client.id": clientID,
            // Fail fast on a dead address instead of librdkafka's silent endless retry loop.
            "socket.connection.setup.timeout.ms": "5000",
            "log_level": "3",
        ]
        for (key, value) in roleDefaults { all[key] = value }
        for (key, value) in properties { all[key] = value }
        return all
    }
}

/// Producer settings: idempotent, acks=all and `kafka.compression` (zstd) unless overridden.
public struct KafkaProducerConfiguration: Sendable {
    public var kafka: KafkaConfiguration
    /// Most messages waiting for a delivery report; `send` waits for room beyond that.
    public var maxInFlight: Int
    /// Partitions for topics the producer creates on first use; nil means never create.
    public var createTopicsWithPartitions: Int?
    public var replicationFactor: Int
    /// librdkafka's `message.timeout.ms`; 0 = never give up on a message (the agent's choice).
    public var messageTimeoutMs: Int
    /// Makes the producer transactional (`KafkaProducer.inTransaction`); a second producer with
    /// the same id fences the first.
    public var transactionalID: String?

    public init(kafka: KafkaConfiguration, maxInFlight: Int = 100_000,
                createTopicsWithPartitions: Int? = nil, replicationFactor: Int = -1,
                messageTimeoutMs: Int = 300_000) {
        self.kafka = kafka
        self.maxInFlight = maxInFlight
        self.createTopicsWithPartitions = createTopicsWithPartitions
        self.replicationFactor = replicationFactor
        self.messageTimeoutMs = messageTimeoutMs
    }

    var librdkafkaProperties: [String: String] {
        kafka.merged([
            "enable.idempotence": "true",
            "acks": "all",
            "compression.type": kafka.compression,
            "linger.ms": "5",
            // Java's partitioner: a key lands in the same partition whichever client produced it
            // (librdkafka's default hashes with CRC32, which disagrees; murmur2 is also cheaper).
            "partitioner": "murmur2_random",
            "message.timeout.ms": String(messageTimeoutMs),
            "queue.buffering.max.messages": String(max(maxInFlight, 1000)),
        ].merging(transactionalID.map { ["transactional.id": $0] } ?? [:]) { a, _ in a }
         .merging(kafka.effectiveCompressionLevel.map { ["compression.level": String($0)] } ?? [:]) { a, _ in a })
    }
}

/// Consumer settings: a group, manual commits, eager assignor by default (see DESIGN.md: the
/// test backend lacks cooperative-sticky).
public struct KafkaConsumerConfiguration: Sendable {
    public var kafka: KafkaConfiguration
    public var groupID: String
    public var autoOffsetReset: String
    public var assignor: String
    public var sessionTimeoutMs: Int
    /// Also the rebalance timeout: a member killed during a rebalance holds the group this long.
    /// logship's consumers poll often (even while retrying), so it can be short.
    public var maxPollIntervalMs: Int
    /// Static membership (KIP-345): a member restarted with the same id takes its partitions
    /// back at once, without a rebalance. Static members do not leave the group on close.
    public var groupInstanceID: String?
    /// How far librdkafka fetches ahead of the application (`queued.min.messages`,
    /// `queued.max.messages.kbytes`); nil keeps librdkafka's defaults (100k messages, 64 MiB).
    public var prefetchMessages: Int?
    public var prefetchKBytes: Int?
    /// When set, a partition whose end the application has reached is paused for this long
    /// before it is fetched again: a client-side fetch wait, for brokers that answer an empty
    /// fetch at once instead of waiting `fetch.wait.max.ms` (noida-db), where a caught-up
    /// consumer would otherwise spin. See `KafkaConsumer.resumeIdlePartitions()`.
    public var idleFetchBackoffMs: Int?
    /// How long the broker holds a fetch with nothing to answer (`fetch.wait.max.ms`, 500 by
    /// default): a partition resumed or written to meanwhile is fetched only after it answers.
    public var fetchWaitMaxMs: Int?

    public init(kafka: KafkaConfiguration, groupID: String, autoOffsetReset: String = "earliest",
                assignor: String = "range,roundrobin", sessionTimeoutMs: Int = 10_000, maxPollIntervalMs: Int = 30_000) {
        self.maxPollIntervalMs = max(maxPollIntervalMs, sessionTimeoutMs)
        self.kafka = kafka
        self.groupID = groupID
        self.autoOffsetReset = autoOffsetReset
        self.assignor = assignor
        self.sessionTimeoutMs = sessionTimeoutMs
    }

    var librdkafkaProperties: [String: String] {
        var own: [String: String] = [:]
        if let prefetchMessages { own["queued.min.messages"] = String(max(prefetchMessages, 1)) }
        if let prefetchKBytes { own["queued.max.messages.kbytes"] = String(max(prefetchKBytes, 1)) }
        if idleFetchBackoffMs != nil { own["enable.partition.eof"] = "true" }
        if let fetchWaitMaxMs { own["fetch.wait.max.ms"] = String(max(fetchWaitMaxMs, 1)) }
        return kafka.merged(own.merging([
            "group.id": groupID,
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "auto.offset.reset": autoOffsetReset,
            "partition.assignment.strategy": assignor,
            "session.timeout.ms": String(sessionTimeoutMs),
            "max.poll.interval.ms": String(maxPollIntervalMs),
            "heartbeat.interval.ms": String(max(sessionTimeoutMs / 5, 100)),
            "topic.metadata.refresh.interval.ms": "5000",
        ]) { own, _ in own })
    }
}
