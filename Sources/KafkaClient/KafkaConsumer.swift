import CRdKafka
import Foundation
import Synchronization

/// Hooks run on the consumer's polling thread during a rebalance. `onRevoke` runs *before* the
/// partitions are released, so a caller can finish or abandon its batch and commit what is done.
public struct RebalanceHooks: Sendable {
    public var onAssign: @Sendable ([TopicPartition]) -> Void
    public var onRevoke: @Sendable ([TopicPartition]) -> Void

    public init(onAssign: @escaping @Sendable ([TopicPartition]) -> Void = { _ in },
                onRevoke: @escaping @Sendable ([TopicPartition]) -> Void = { _ in }) {
        self.onAssign = onAssign
        self.onRevoke = onRevoke
    }
}

/// A member of a consumer group with manual offset commits. Polling, synchronous commits and
/// close block: call them from one dedicated thread, or use the async forms, which run them on the
/// consumer's own executor.
/// @unchecked Sendable: owns a librdkafka handle (thread-safe by librdkafka's contract).
public final class KafkaConsumer: @unchecked Sendable {
    let handle: OpaquePointer
    private let rebalance: RebalanceBox
    private let executor = BlockingExecutor(label: "logship.kafka.consumer")
    private let closed = Atomic<Bool>(false)
    public let groupID: String
    private let idleBackoff: Duration?
    /// A record that arrived in the same librdkafka poll as a rebalance: it belongs to the new
    /// assignment, so it opens the next `pollBatch` instead of joining records from before.
    private let carried = Mutex<KafkaMessage?>(nil)

    public init(_ configuration: KafkaConsumerConfiguration, hooks: RebalanceHooks = RebalanceHooks()) throws {
        groupID = configuration.groupID
        idleBackoff = configuration.idleFetchBackoffMs.map { .milliseconds($0) }
        let properties = configuration.librdkafkaProperties
        let strategy = properties["partition.assignment.strategy"] ?? ""
        let box = RebalanceBox(hooks: hooks, configuredCooperative: strategy.contains("cooperative"))
        rebalance = box
        handle = try RDKafka.makeHandle(RD_KAFKA_CONSUMER, properties: properties) { conf in
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(box).toOpaque())
            rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        }
        // Route the main queue to the consumer queue so one poll serves everything.
        rd_kafka_poll_set_consumer(handle)
    }

    deinit {
        closeBlocking()
        rd_kafka_destroy(handle)
    }

    /// Subscribes to topics; a name starting with `^` is a regular expression
    /// (`^logs\..*` picks up new service topics as they appear).
    public func subscribe(_ topics: [String]) throws {
        let list = RDKafka.makeList(topics.map { TopicPartition($0, RD_KAFKA_PARTITION_UA) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_subscribe(handle, list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "cannot subscribe to \(topics)") }
    }

    /// Reads up to `maxMessages`, waiting at most `timeoutMs` for the first one. Blocking.
    /// A batch ends where a rebalance ran: every record in it was read before the rebalance hooks
    /// of this call, and records of the new assignment come from the next call. So a caller that
    /// drops what `onRevoke` named after each call drops exactly the records read before.
    public func pollBatch(maxMessages: Int, timeoutMs: Int32) throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        if let first = carried.withLock({ $0.take() }) { messages.append(first) }
        var wait = messages.isEmpty ? timeoutMs : 0
        while messages.count < maxMessages {
            let generation = rebalance.generation.load(ordering: .acquiring)
            let polled = rd_kafka_consumer_poll(handle, wait)
            let rebalanced = rebalance.generation.load(ordering: .acquiring) != generation
            guard let pointer = polled else { break }
            defer { rd_kafka_message_destroy(pointer) }
            wait = 0
            let err = pointer.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                let message = RDKafka.message(pointer)
                if rebalanced {
                    carried.withLock { $0 = message }
                    rebalance.positions.withLock { $0[message.topicPartition] = message.offset + 1 }
                    break
                }
                messages.append(message)
            } else if err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                if idleBackoff != nil, let rkt = pointer.pointee.rkt {
                    let tp = TopicPartition(String(cString: rd_kafka_topic_name(rkt)), pointer.pointee.partition)
                    apply { $0.reachedEnd(tp, at: .now) }
                }
                if rebalanced { break }
                continue
            } else if Self.topicNotYetThere.contains(err) {
                // A subscribed pattern that matches no topic yet (a fresh cluster): not an error,
                // the topics are picked up when they appear.
                if rebalanced { break }
                continue
            } else if err == RD_KAFKA_RESP_ERR__MAX_POLL_EXCEEDED {
                // The application went longer than max.poll.interval.ms between polls (a long
                // blocking call): librdkafka has left the group and rejoins on this very poll,
                // running the revoke hook. The member carries on; its uncommitted records are
                // read again by whoever owns them next.
                if rebalanced || !messages.isEmpty { break }
                continue
            } else if err == RD_KAFKA_RESP_ERR__FATAL {
                throw KafkaError(err, "consumer of group \(groupID) hit a fatal error")
            } else if !messages.isEmpty {
                break
            } else if !KafkaError.retriableCodes.contains(err.rawValue) {
                let detail = pointer.pointee.payload.map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: pointer.pointee.len), as: UTF8.self)
                } ?? ""
                throw KafkaError(err, "consumer of group \(groupID): \(detail)")
            }
        }
        if !messages.isEmpty {
            rebalance.positions.withLock { positions in for message in messages { positions[message.topicPartition] = message.offset + 1 } }
        }
        return messages
    }

    static let topicNotYetThere: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
    ]

    public func poll(maxMessages: Int, timeoutMs: Int32) async throws -> [KafkaMessage] {
        try await executor.run { try self.pollBatch(maxMessages: maxMessages, timeoutMs: timeoutMs) }
    }

    /// Commits explicit offsets: each value is the *next* offset to read (last processed + 1).
    public func commitBlocking(_ offsets: [TopicPartition: Int64], async: Bool = false) throws {
        guard !offsets.isEmpty else { return }
        let list = RDKafka.makeList(offsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_commit(handle, list, async ? 1 : 0)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(err, "commit for group \(groupID) failed") }
        if !async {
            for (tp, _, partErr) in RDKafka.read(list) where partErr != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError(partErr, "commit for group \(groupID) on \(tp) failed")
            }
        }
    }

    public func commit(_ offsets: [TopicPartition: Int64]) async throws {
        try await executor.run { try self.commitBlocking(offsets) }
    }

    /// The group's committed offsets for these partitions; nil where nothing was committed.
    public func committed(_ partitions: [TopicPartition], timeoutMs: Int32 = 10_000) throws -> [TopicPartition: Int64?] {
        try RDKafka.committed(on: handle, group: groupID, partitions, timeoutMs: timeoutMs)
    }

    /// Partitions currently assigned to this member.
    public func assignment() throws -> [TopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let err = rd_kafka_assignment(handle, &list)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(err, "cannot read assignment") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return RDKafka.read(list).map(\.0).sorted()
    }

    /// Messages between this member's position and the log end, per assigned partition. By
    /// default from the watermarks librdkafka caches with each fetch (no broker round trip);
    /// with `askingBrokersMs` the log ends are asked of the brokers (one round trip per
    /// partition, left out when no answer comes in time) — a paused partition is not fetched,
    /// so its cached end stays where it was when it paused. A partition not fetched since it was
    /// assigned counts from the group's committed offset when the brokers are asked, else from
    /// the log start.
    public func lag(askingBrokersMs timeoutMs: Int32? = nil) -> [TopicPartition: Int64] {
        guard let assigned = try? assignment(), !assigned.isEmpty else { return [:] }
        let list = RDKafka.makeList(assigned)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_position(handle, list)
        var result: [TopicPartition: Int64] = [:]
        var unfetched: [TopicPartition: (low: Int64, high: Int64)] = [:]
        for (tp, position, _) in RDKafka.read(list) {
            var low: Int64 = 0, high: Int64 = 0
            let err = timeoutMs.map { rd_kafka_query_watermark_offsets(handle, tp.topic, tp.partition, &low, &high, $0) }
                ?? rd_kafka_get_watermark_offsets(handle, tp.topic, tp.partition, &low, &high)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { continue }
            let known = position >= 0 ? position : rebalance.positions.withLock { $0[tp] } ?? -1
            if known >= 0 { result[tp] = max(high - known, 0) } else { unfetched[tp] = (low, high) }
        }
        var start: [TopicPartition: Int64?] = [:]
        if let timeoutMs, !unfetched.isEmpty { start = (try? self.committed(Array(unfetched.keys), timeoutMs: timeoutMs)) ?? [:] }
        for (tp, ends) in unfetched { result[tp] = max(ends.high - ((start[tp] ?? nil) ?? ends.low), 0) }
        return result
    }

    /// Resumes the partitions paused at their end once the idle backoff has passed. Call it from
    /// the polling loop.
    public func resumeIdlePartitions() {
        guard let idleBackoff else { return }
        apply { $0.idleDue(at: .now, backoff: idleBackoff) }
    }

    /// `EAGER` or `COOPERATIVE` once the group has an assignor chosen, `NONE` before, `UNKNOWN`
    /// when librdkafka cannot say (it returns NULL then, e.g. while the consumer closes).
    public var rebalanceProtocol: String { String(cStringOrNil: rd_kafka_rebalance_protocol(handle)) ?? "UNKNOWN" }

    /// Runs `body` as a wait (on Elasticsearch, on a dead-letter write, …) during which partitions
    /// may be held: `holdAssignment` and `pollDuringWait` hold them, and the end of the outermost
    /// wait resumes every one still assigned. Waits nest. The only way to pause a partition.
    public func waiting<T>(_ body: () throws -> T) rethrows -> T {
        rebalance.pauses.withLock { $0.beginWait() }
        defer { apply { $0.endWait() } }
        return try body()
    }

    /// Holds every assigned partition until the current wait ends (memory stays bounded, lag
    /// shows the stall). Pausing discards what librdkafka prefetched; it is fetched again after.
    public func holdAssignment() {
        apply { $0.holdAll() }
    }

    /// Polls during a wait so the group sees this member alive. Any record it receives (from a
    /// partition not held yet, or newly assigned) is given back: its partition is rewound to the
    /// first such record and held until the wait ends, so nothing is skipped.
    public func pollDuringWait(timeoutMs: Int32) {
        let records = (try? pollBatch(maxMessages: 1_000, timeoutMs: timeoutMs)) ?? []
        guard !records.isEmpty else { return }
        var first: [TopicPartition: Int64] = [:]
        for record in records { first[record.topicPartition] = min(first[record.topicPartition] ?? .max, record.offset) }
        apply { $0.polledDuringWait(firstOffsets: first) }
    }

    /// Where a partition stands: fetching, idle (paused at its end), held (paused by a wait); nil
    /// when not assigned. `leaked` names holds made outside any wait (the test hook's).
    public func pauseState(of partition: TopicPartition) -> (state: PartitionPauses.State?, leaked: Bool) {
        rebalance.pauses.withLock { ($0.state(of: partition), $0.leaked.contains(partition)) }
    }

    /// Test hook (`LOGSHIP_TEST_HOOKS=leak-pause`): pauses partitions with no wait to resume them,
    /// as the bug `PartitionPauses` replaced did, so the stall watchdog can be shown to fire.
    public func leakHoldForTesting(_ partitions: [TopicPartition]) {
        apply { $0.leakHold(partitions) }
    }

    private func apply(_ transition: (inout PartitionPauses) -> [PartitionPauses.Action]) {
        let actions = rebalance.pauses.withLock { transition(&$0) }
        RDKafka.perform(actions, on: handle, positions: rebalance.positions)
    }

    /// Moves the fetch position of an assigned partition.
    /// A partition assigned a moment ago may not be fetched yet — librdkafka answers `_STATE`
    /// until its fetcher starts (seen on a loaded machine right after the assignment): the seek
    /// is tried again until the fetcher runs or `timeoutMs` has passed.
    public func seek(_ tp: TopicPartition, to offset: Int64, timeoutMs: Int32 = 10_000) throws {
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1_000)
        while true {
            let list = RDKafka.makeList([(tp, offset)])
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let error = rd_kafka_seek_partitions(handle, list, timeoutMs) {
                throw KafkaError(rdError: error, "seek \(tp) to \(offset)")
            }
            guard let failed = RDKafka.read(list).first(where: { $0.2 != RD_KAFKA_RESP_ERR_NO_ERROR })?.2 else {
                rebalance.positions.withLock { $0[tp] = offset }
                return
            }
            guard failed == RD_KAFKA_RESP_ERR__STATE, Date() < deadline else { throw KafkaError(failed, "seek \(tp) to \(offset)") }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Leaves the group (running the revoke hook first). Blocking; safe to call twice.
    public func closeBlocking() {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        rd_kafka_consumer_close(handle)
    }

    public func close() async {
        _ = try? await executor.run { self.closeBlocking() }
    }
}

final class RebalanceBox: Sendable {
    let hooks: RebalanceHooks
    /// Pause states of the assigned partitions; the rebalance callback updates them too.
    let pauses = Mutex(PartitionPauses())
    /// The protocol of the configured assignors (a member's assignors all share one), for when
    /// librdkafka cannot say.
    let configuredCooperative: Bool
    /// Counts rebalance callbacks, so a poll can tell that one ran inside it.
    let generation = Atomic<Int>(0)
    /// The next offset of each assigned partition as handed out (last record + 1, or where a
    /// seek put it): librdkafka reports no position after a seek until the next record.
    let positions = Mutex<[TopicPartition: Int64]>([:])
    init(hooks: RebalanceHooks, configuredCooperative: Bool) {
        self.hooks = hooks
        self.configuredCooperative = configuredCooperative
    }
}

private func rebalanceCallback(_ rk: OpaquePointer?, _ err: rd_kafka_resp_err_t,
                               _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                               _ opaque: UnsafeMutableRawPointer?) {
    guard let rk, let partitions, let opaque else { return }
    let box = Unmanaged<RebalanceBox>.fromOpaque(opaque).takeUnretainedValue()
    let tps = RDKafka.read(partitions).map(\.0).sorted()
    // rd_kafka_rebalance_protocol returns NULL "on error", as it does once the consumer closes;
    // read unchecked, that NULL is the likely cause of leaving indexers crashing now and then.
    let cooperative = String(cStringOrNil: rd_kafka_rebalance_protocol(rk)).map { $0 == "COOPERATIVE" } ?? box.configuredCooperative
    defer { box.generation.add(1, ordering: .releasing) }
    switch err {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        if cooperative {
            if let error = rd_kafka_incremental_assign(rk, partitions) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(rk, partitions)
        }
        // A partition paused while owned before keeps librdkafka's pause flag across a
        // cooperative unassign/assign: fetch what is assigned now.
        box.positions.withLock { positions in for tp in tps { positions[tp] = nil } }
        RDKafka.perform(box.pauses.withLock { $0.assigned(tps) }, on: rk, positions: box.positions)
        box.hooks.onAssign(tps)
    default:
        // Revoke (or lost): the caller commits what is done before the partitions go.
        box.hooks.onRevoke(tps)
        box.pauses.withLock { $0.revoked(tps) }
        box.positions.withLock { positions in for tp in tps { positions[tp] = nil } }
        if cooperative {
            if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
        } else {
            rd_kafka_assign(rk, nil)
        }
    }
}
