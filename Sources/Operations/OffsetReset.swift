import Foundation
import KafkaClient

/// Where `logship replay` moves a group's committed offsets.
public enum ResetTarget: Sendable, Equatable {
    /// The first message at or after this time (ms since the epoch).
    case datetime(Int64)
    /// That many milliseconds before now.
    case duration(Int64)
    case earliest, latest
    /// Relative to the current commit (negative: re-read that many).
    case shift(Int64)
    case offset(Int64)
}

/// A replay, planned: per partition the current commit and the new one. `reRead` counts the
/// messages that will be read again (negative when the reset skips messages).
public struct ResetPlan: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var topic: String
        public var partition: Int32
        public var current: Int64?
        public var target: Int64
        public var logStart: Int64
        public var logEnd: Int64
        public var reRead: Int64
    }

    public var group: String
    public var entries: [Entry]
    public var reRead: Int64 { entries.reduce(0) { $0 + max($1.reRead, 0) } }
    public var skipped: Int64 { entries.reduce(0) { $0 + max(-$1.reRead, 0) } }

    enum CodingKeys: String, CodingKey { case group, entries }
}

public struct OffsetReset: Sendable {
    public let admin: KafkaAdmin

    public init(admin: KafkaAdmin) { self.admin = admin }

    /// The new offset of one partition, kept within [log start, log end]. `timeOffset` is the
    /// broker's answer for a time target. Pure.
    public static func target(_ target: ResetTarget, current: Int64?, logStart: Int64, logEnd: Int64, timeOffset: Int64?) -> Int64 {
        let position = max(current ?? logStart, logStart)
        let wanted: Int64
        switch target {
        case .earliest: wanted = logStart
        case .latest: wanted = logEnd
        case .offset(let offset): wanted = offset
        case .shift(let delta): wanted = position + delta
        case .datetime, .duration: wanted = timeOffset ?? logEnd
        }
        return min(max(wanted, logStart), logEnd)
    }

    /// Plans the reset of `group` on the topics matching `topicPattern` (a regular expression).
    public func plan(group: String, topicPattern: String, target: ResetTarget, nowMs: Int64) throws -> ResetPlan {
        let partitions = try admin.partitions(matching: topicPattern)
        guard !partitions.isEmpty else { throw OperationsError("no topic matches \(topicPattern)") }
        let committed = try admin.committedOffsets(group: group, partitions: partitions)
        let logOffsets = try admin.logOffsets(partitions)
        var timeOffsets: [TopicPartition: Int64] = [:]
        switch target {
        case .datetime(let ms): timeOffsets = try admin.offsetsForTimes(partitions, timestampMs: ms)
        case .duration(let ms): timeOffsets = try admin.offsetsForTimes(partitions, timestampMs: nowMs - ms)
        default: break
        }
        let entries = partitions.compactMap { tp -> ResetPlan.Entry? in
            guard let (low, high) = logOffsets[tp] else { return nil }
            let current = committed[tp] ?? nil
            let new = Self.target(target, current: current, logStart: low, logEnd: high, timeOffset: timeOffsets[tp])
            return .init(topic: tp.topic, partition: tp.partition, current: current, target: new, logStart: low, logEnd: high,
                         reRead: max(current ?? low, low) - new)
        }
        return ResetPlan(group: group, entries: entries)
    }

    /// Commits the plan. Refuses while the group has active members (they would overwrite the
    /// reset with their own commits); reads the commits back to confirm them.
    public func execute(_ plan: ResetPlan) throws {
        let groups: [ConsumerGroupInfo]
        do {
            groups = try admin.listGroups(plan.group)
        } catch {
            throw OperationsError("cannot check whether group \(plan.group) has active members (\(error)); stop its consumers and retry")
        }
        if let info = groups.first(where: { $0.name == plan.group }), !info.members.isEmpty {
            let who = info.members.map { "\($0.clientID)@\($0.host)" }.joined(separator: ", ")
            throw OperationsError("group \(plan.group) has \(info.members.count) active member(s) (\(who)); stop them first — "
                                  + "a running consumer would overwrite the reset with its own commits")
        }
        let offsets = Dictionary(uniqueKeysWithValues: plan.entries.map { (TopicPartition($0.topic, $0.partition), $0.target) })
        try admin.commitOffsets(group: plan.group, offsets: offsets)
        let readBack = try admin.committedOffsets(group: plan.group, partitions: Array(offsets.keys))
        let wrong = offsets.filter { readBack[$0.key] ?? nil != $0.value }
        guard wrong.isEmpty else {
            throw OperationsError("the broker did not keep the reset for \(wrong.keys.sorted().map(\.description).joined(separator: ", "))")
        }
    }
}

public struct OperationsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
