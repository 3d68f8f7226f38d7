import CRdKafka
import Synchronization

/// Creation of librdkafka handles and conversions between Swift values and C lists.
enum RDKafka {
    /// Builds a configured `rd_kafka_t`. Every rejected property is reported at once.
    static func makeHandle(_ type: rd_kafka_type_t, properties: [String: String],
                           configure: (OpaquePointer) -> Void = { _ in }) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError.client("out of memory creating Kafka configuration") }
        var problems: [String] = []
        var errbuf = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errbuf, errbuf.count) != RD_KAFKA_CONF_OK {
                problems.append("\(key): \(String(cString: errbuf))")
            }
        }
        guard problems.isEmpty else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError.client("invalid Kafka properties: " + problems.joined(separator: "; "))
        }
        KafkaLogRouting.install(on: conf)
        configure(conf)
        guard let handle = rd_kafka_new(type, conf, &errbuf, errbuf.count) else {
            // rd_kafka_new frees conf only on success.
            rd_kafka_conf_destroy(conf)
            throw KafkaError.client("cannot create Kafka client: \(String(cString: errbuf))")
        }
        return handle
    }

    static func makeList(_ entries: [(TopicPartition, Int64)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(max(entries.count, 1)))!
        for (tp, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, tp.topic, tp.partition)!
            element.pointee.offset = offset
        }
        return list
    }

    static func makeList(_ partitions: [TopicPartition]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        makeList(partitions.map { ($0, Int64(RD_KAFKA_OFFSET_INVALID)) })
    }

    /// Reads a C list into (partition, offset, per-partition error) entries.
    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64, rd_kafka_resp_err_t)] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return (TopicPartition(String(cString: element.topic), element.partition), element.offset, element.err)
        }
    }

    /// A group's committed offsets on a consumer handle of that group; nil where none.
    static func committed(on handle: OpaquePointer, group: String, _ partitions: [TopicPartition],
                          timeoutMs: Int32) throws -> [TopicPartition: Int64?] {
        let list = makeList(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_committed(handle, list, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "cannot read committed offsets of group \(group)") }
        var result: [TopicPartition: Int64?] = [:]
        for (tp, offset, _) in read(list) { result[tp] = offset >= 0 ? offset : nil }
        return result
    }

    static func message(_ pointer: UnsafePointer<rd_kafka_message_t>) -> KafkaMessage {
        let raw = pointer.pointee
        let topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? []
        let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        var tsType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let ts = rd_kafka_message_timestamp(pointer, &tsType)
        return KafkaMessage(topic: topic, partition: raw.partition, offset: raw.offset, key: key, value: value,
                            timestampMs: tsType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : ts,
                            headers: headers(of: pointer))
    }

    static func headers(of pointer: UnsafePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var hdrs: OpaquePointer?
        guard rd_kafka_message_headers(pointer, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR, let hdrs else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(hdrs, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            result.append(KafkaHeader(name.map { String(cString: $0) } ?? "", bytes))
            index += 1
        }
        return result
    }
}

/// A librdkafka handle (or topic handle) handed to another thread; its owner outlives every user
/// and destroys it last. @unchecked Sendable: a bare C pointer, thread-safe by librdkafka's contract.
struct HandleRef: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// A flag shared between an owner and its thread.
final class SharedFlag: Sendable {
    private let value = Atomic<Bool>(true)
    func load() -> Bool { value.load(ordering: .acquiring) }
    func store(_ newValue: Bool) { value.store(newValue, ordering: .releasing) }
}

extension String {
    /// A C string librdkafka may hand back as NULL; nil then (`String(cString:)` would crash).
    init?(cStringOrNil pointer: UnsafePointer<CChar>?) {
        guard let pointer else { return nil }
        self.init(cString: pointer)
    }
}
