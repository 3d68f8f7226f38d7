import Foundation
import KafkaClient
import LogModel

/// Positions a stage committed in transactions whose plain commit did not go through (a
/// rebalance began meanwhile). Kafka holds them from the transaction; librdkafka's mock cluster
/// does not, and there the partition's next owner — this member or another — would start before
/// them and count their records twice. So they are written to `logship.detector.state`
/// (`position/<group>/<topic>/<partition>`, in a transaction of their own, before the member
/// polls and rejoins the group), and whichever member is given such a partition next commits
/// and seeks to a position still ahead of the group's, then deletes the record. Records older
/// than `maxAgeMs` are ignored, so an operator's later offset reset is never undone.
enum StoredPositions {
    struct Record: Codable {
        var offset: Int64
        var timeMs: Int64
    }

    static let maxAgeMs: Int64 = 300_000

    static func key(_ group: String, _ tp: TopicPartition) -> String { "position/\(group)/\(tp.topic)/\(tp.partition)" }

    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Writes the positions of a step whose plain commit failed.
    static func store(_ offsets: [TopicPartition: Int64], service: DetectorService, consumer: KafkaConsumer, producer: KafkaProducer) {
        guard !offsets.isEmpty else { return }
        let records = offsets.sorted { $0.key < $1.key }.map { tp, offset in
            (key: key(consumer.groupID, tp), value: (try? JSONEncoder().encode(Record(offset: offset, timeMs: nowMs))).map(Array.init) ?? [])
        }
        write(records, service: service, consumer: consumer, producer: producer)
    }

    /// For the partitions just assigned: positions stored by a member whose plain commit failed,
    /// committed and sought to where still ahead of the group's. Returns them: a record polled
    /// before the seek (one carried over the rebalance) below its position is not read again.
    @discardableResult
    static func reclaim(_ assigned: Set<TopicPartition>, service: DetectorService, consumer: KafkaConsumer,
                        producer: KafkaProducer) -> [TopicPartition: Int64] {
        guard !assigned.isEmpty else { return [:] }
        let wanted = Dictionary(uniqueKeysWithValues: assigned.map { (key(consumer.groupID, $0), $0) })
        var found: [TopicPartition: Record] = [:]
        var keys: [String] = []
        do {
            let admin = service.admin
            let state = try admin.partitions(matching: "^" + NSRegularExpression.escapedPattern(for: Naming.detectorStateTopic) + "$")
            try admin.read(try admin.logOffsets(state).filter { $0.value.low < $0.value.high }.mapValues { $0.low..<$0.high }) { message in
                guard let key = message.key.map({ String(decoding: $0, as: UTF8.self) }), let tp = wanted[key] else { return }
                found[tp] = message.value.isEmpty ? nil : try? JSONDecoder().decode(Record.self, from: Data(message.value))
                keys.append(key)
            }
        } catch {
            service.logger.warning("cannot read stored positions", metadata: ["kafka.error": "\(error)"])
            return [:]
        }
        let recent = found.filter { nowMs - $0.value.timeMs <= maxAgeMs }.mapValues(\.offset)
        var reclaimed: [TopicPartition: Int64] = [:]
        if !recent.isEmpty {
            let committed = (try? consumer.committed(Array(recent.keys))) ?? [:]
            let ahead = recent.filter { tp, offset in ((committed[tp] ?? nil) ?? -1) < offset }
            if !ahead.isEmpty {
                do {
                    try consumer.commitBlocking(ahead)
                    for (tp, offset) in ahead { try consumer.seek(tp, to: offset) }
                    service.logger.notice("positions committed in a transaction reclaimed",
                                          metadata: ["kafka.positions": "\(ahead.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"])
                    reclaimed = ahead
                } catch {
                    service.logger.warning("cannot reclaim positions committed in a transaction", metadata: ["kafka.error": "\(error)"])
                    return [:]
                }
            }
        }
        let stale = Set(keys).filter { key in found[wanted[key]!] != nil }
        if !stale.isEmpty { write(stale.sorted().map { ($0, []) }, service: service, consumer: consumer, producer: producer) }
        return reclaimed
    }

    /// A stage loop's part after a rebalance: positions reclaimed for the partitions assigned
    /// become floors (`above`), those of partitions revoked go.
    static func rebalanced(_ floors: inout [TopicPartition: Int64], assigned: Set<TopicPartition>, revoked: Set<TopicPartition>,
                           service: DetectorService, consumer: KafkaConsumer, producer: KafkaProducer) {
        floors.merge(reclaim(assigned, service: service, consumer: consumer, producer: producer)) { $1 }
        for tp in revoked { floors[tp] = nil }
    }

    /// Drops records below a reclaimed position (polled before the seek); a partition's floor
    /// goes once a record at or after it arrives.
    static func above(_ floors: inout [TopicPartition: Int64], _ messages: [KafkaMessage]) -> [KafkaMessage] {
        guard !floors.isEmpty else { return messages }
        return messages.filter { message in
            guard let floor = floors[message.topicPartition] else { return true }
            if message.offset < floor { return false }
            floors[message.topicPartition] = nil
            return true
        }
    }

    private static func write(_ records: [(key: String, value: [UInt8])], service: DetectorService, consumer: KafkaConsumer, producer: KafkaProducer) {
        do {
            try producer.inTransaction(offsets: [:], consumer: consumer) {
                for record in records {
                    try producer.enqueue(topic: Naming.detectorStateTopic, key: Array(record.key.utf8), value: record.value) { _ in }
                }
                guard producer.flushBlocking(timeoutMs: 15_000) else { throw DetectorRoleError("Kafka did not acknowledge the positions") }
            }
        } catch {
            service.logger.warning("cannot store positions", metadata: ["kafka.error": "\(error)"])
        }
    }
}
