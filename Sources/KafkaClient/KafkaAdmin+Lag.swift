import CRdKafka
import Foundation

extension KafkaAdmin {
    /// Log start and log end of many partitions in two ListOffsets requests (timestamps -2 and
    /// -1 mean earliest and latest), instead of two round trips per partition. Brokers without
    /// that lookup (the mock cluster) are asked partition by partition.
    public func logOffsets(_ partitions: [TopicPartition]) throws -> [TopicPartition: (low: Int64, high: Int64)] {
        guard !partitions.isEmpty else { return [:] }
        do {
            func usable(_ entries: [(TopicPartition, Int64, rd_kafka_resp_err_t)]) -> [TopicPartition: Int64] {
                Dictionary(entries.filter { $0.2 == RD_KAFKA_RESP_ERR_NO_ERROR && $0.1 >= 0 }.map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
            }
            let low = usable(try listOffsets(partitions, timestamp: -2))
            let high = usable(try listOffsets(partitions, timestamp: -1))
            var result: [TopicPartition: (low: Int64, high: Int64)] = [:]
            for tp in partitions { if let l = low[tp], let h = high[tp] { result[tp] = (l, h) } }
            return result
        } catch {
            var result: [TopicPartition: (low: Int64, high: Int64)] = [:]
            for tp in partitions { result[tp] = try watermarks(tp) }
            return result
        }
    }

    /// The timestamp (ms) of the message at each given offset, read with one throwaway consumer
    /// that commits nothing. Partitions that give no message before the deadline are left out.
    public func messageTimestamps(at offsets: [TopicPartition: Int64], timeoutMs: Int32 = 3_000) throws -> [TopicPartition: Int64] {
        guard !offsets.isEmpty else { return [:] }
        var properties = KafkaConsumerConfiguration(kafka: configuration, groupID: "logship-lag-probe").librdkafkaProperties
        properties["client.id"] = configuration.clientID + "-probe"
        properties["enable.partition.eof"] = "false"
        properties["fetch.max.bytes"] = "1048576"
        properties["max.partition.fetch.bytes"] = "65536"
        let consumer = try RDKafka.makeHandle(RD_KAFKA_CONSUMER, properties: properties)
        defer { rd_kafka_destroy(consumer) }
        let list = RDKafka.makeList(offsets.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_assign(consumer, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "cannot read first unconsumed messages") }
        defer { _ = rd_kafka_assign(consumer, nil) }
        var result: [TopicPartition: Int64] = [:]
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutMs))
        while result.count < offsets.count, ContinuousClock.now < deadline {
            guard let message = rd_kafka_consumer_poll(consumer, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR, let rkt = message.pointee.rkt else { continue }
            let tp = TopicPartition(String(cString: rd_kafka_topic_name(rkt)), message.pointee.partition)
            guard result[tp] == nil else { continue }
            var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(message, &type)
            if type != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE { result[tp] = timestamp }
        }
        return result
    }
}

extension KafkaAdmin {
    /// The partitions of the non-internal topics whose names match `pattern` (a regular
    /// expression), sorted; all of them when the pattern is nil.
    public func partitions(matching pattern: String?) throws -> [TopicPartition] {
        let filter = try pattern.map { try NSRegularExpression(pattern: $0) }
        return try metadata().topics.filter { topic in
            guard !topic.name.hasPrefix("__") else { return false }
            guard let filter else { return true }
            return filter.firstMatch(in: topic.name, range: NSRange(topic.name.startIndex..., in: topic.name)) != nil
        }.flatMap { topic in topic.partitions.map { TopicPartition(topic.name, $0.id) } }.sorted()
    }

    /// Per partition, the offsets of the messages written in [fromMs, toMs) (the whole log
    /// where a bound is nil), kept inside the log; empty ranges are left out.
    public func offsetRanges(_ partitions: [TopicPartition], fromMs: Int64?, toMs: Int64?) throws -> [TopicPartition: Range<Int64>] {
        let log = try logOffsets(partitions)
        let starts = try fromMs.map { try offsetsForTimes(partitions, timestampMs: $0) } ?? [:]
        let ends = try toMs.map { try offsetsForTimes(partitions, timestampMs: $0) } ?? [:]
        var ranges: [TopicPartition: Range<Int64>] = [:]
        for tp in partitions {
            guard let (low, high) = log[tp] else { continue }
            let lower = max(starts[tp] ?? low, low), upper = min(ends[tp] ?? high, high)
            if lower < upper { ranges[tp] = lower..<upper }
        }
        return ranges
    }

    /// Per partition, the offsets from `positions` (the log start where a partition has none, or
    /// where the log start has passed it) to the log end; empty ranges are left out. What a
    /// reader that keeps its own positions has not read yet.
    public func newRanges(_ partitions: [TopicPartition], after positions: [TopicPartition: Int64]) throws -> [TopicPartition: Range<Int64>] {
        var ranges: [TopicPartition: Range<Int64>] = [:]
        for (tp, (low, high)) in try logOffsets(partitions) {
            let from = max(positions[tp] ?? low, low)
            if from < high { ranges[tp] = from..<high }
        }
        return ranges
    }
}
