import CRdKafka
import Foundation

extension KafkaAdmin {
    /// Reads the messages in `[lower, upper)` of each partition with a throwaway consumer that
    /// joins no group and commits nothing; `each` gets them in offset order per partition.
    /// Throws when no message arrives for `idleTimeoutMs` while some are still missing.
    public func read(_ ranges: [TopicPartition: Range<Int64>], idleTimeoutMs: Int = 15_000,
                     each: (KafkaMessage) throws -> Void) throws {
        var remaining = ranges.filter { !$0.value.isEmpty }
        guard !remaining.isEmpty else { return }
        var properties = KafkaConsumerConfiguration(kafka: configuration, groupID: "logship-reader").librdkafkaProperties
        properties["client.id"] = configuration.clientID + "-reader"
        properties["enable.partition.eof"] = "false"
        let consumer = try RDKafka.makeHandle(RD_KAFKA_CONSUMER, properties: properties)
        defer { rd_kafka_destroy(consumer) }
        let list = RDKafka.makeList(remaining.map { ($0.key, $0.value.lowerBound) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(consumer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "cannot read \(remaining.count) partitions") }
        defer { _ = rd_kafka_assign(consumer, nil) }
        var lastProgress = ContinuousClock.now
        while !remaining.isEmpty {
            guard ContinuousClock.now - lastProgress < .milliseconds(idleTimeoutMs) else {
                let missing = remaining.keys.sorted().map(\.description).joined(separator: ", ")
                throw KafkaError.client("no message for \(idleTimeoutMs / 1000) s while reading \(missing)")
            }
            guard let pointer = rd_kafka_consumer_poll(consumer, 200) else {
                // Offsets without a message for us (transaction markers, compacted records):
                // a partition whose position passed the end of its range is done.
                let positions = RDKafka.makeList(remaining.map { ($0.key, Int64(RD_KAFKA_OFFSET_INVALID)) })
                defer { rd_kafka_topic_partition_list_destroy(positions) }
                rd_kafka_position(consumer, positions)
                for (tp, position, _) in RDKafka.read(positions) where position >= (remaining[tp]?.upperBound ?? .max) {
                    remaining.removeValue(forKey: tp)
                }
                continue
            }
            defer { rd_kafka_message_destroy(pointer) }
            let err = pointer.pointee.err
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                if KafkaError.retriableCodes.contains(err.rawValue) { continue }
                throw KafkaError(err, "reading partitions")
            }
            let message = RDKafka.message(pointer)
            let tp = message.topicPartition
            guard let range = remaining[tp], range.contains(message.offset) else { continue }
            try each(message)
            lastProgress = .now
            if message.offset + 1 >= range.upperBound { remaining.removeValue(forKey: tp) }
        }
    }
}
