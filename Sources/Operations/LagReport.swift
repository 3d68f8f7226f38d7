import Foundation
import KafkaClient

/// Consumer lag per group, topic and partition: what `logship lag` prints and the coordinator
/// serves. Lag in messages is log end − committed (log start when the group never committed);
/// lag in seconds is the age of the oldest unconsumed message (0 when caught up).
public struct LagReport: Encodable, Sendable {
    public struct Partition: Sendable {
        public var topic: String
        public var partition: Int32
        /// Nil: no commit; the lag counts from the log start.
        public var committed: Int64?
        public var logStart: Int64
        public var logEnd: Int64
        public var lag: Int64
        public var lagSeconds: Double
        /// The member owning the partition (client id @ host), when the broker tells it.
        public var owner: String?
        public var status: LagStatus?
    }

    public struct TopicTotal: Codable, Sendable {
        public var topic: String
        public var partitions: Int
        public var lag: Int64
        public var lagSeconds: Double

        enum CodingKeys: String, CodingKey { case topic, partitions, lag, lagSeconds = "lag_seconds" }
    }

    public struct Group: Sendable {
        public var name: String
        public var state: String
        public var members: Int
        public var lag: Int64
        public var lagSeconds: Double
        public var topics: [TopicTotal]
        public var partitions: [Partition]
        public var status: LagStatus?
        /// Change of the group's lag per minute over the watch window.
        public var trendPerMinute: Double?
    }

    public var generatedAt: String
    public var groups: [Group]
    /// Where groups could not be listed (a broker without ListGroups), why.
    public var notes: [String]

    /// The JSON contract (`lag --json`, the coordinator): `partitions`, one object per partition
    /// with `group`, `topic`, `partition`, `committed`, `end`, `lag`, `lag_seconds`, `owner`,
    /// `status`; `groups` with their totals and `status`.
    public func encode(to encoder: Encoder) throws {
        struct PartitionRow: Encodable {
            var group, topic: String
            var partition: Int32
            var committed: Int64?
            var start, end, lag: Int64
            var lag_seconds: Double
            var owner: String?
            var status: String?

            func encode(to encoder: Encoder) throws {
                enum K: String, CodingKey { case group, topic, partition, committed, start, end, lag, lag_seconds, owner, status }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(group, forKey: .group); try c.encode(topic, forKey: .topic)
                try c.encode(partition, forKey: .partition); try c.encode(committed, forKey: .committed)
                try c.encode(start, forKey: .start); try c.encode(end, forKey: .end); try c.encode(lag, forKey: .lag)
                try c.encode(lag_seconds, forKey: .lag_seconds); try c.encode(owner, forKey: .owner); try c.encode(status, forKey: .status)
            }
        }
        struct GroupRow: Encodable {
            var group, state: String
            var members: Int
            var lag: Int64
            var lag_seconds: Double
            var status: String?
            var trend_per_minute: Double?
            var topics: [TopicTotal]
        }
        enum K: String, CodingKey { case generated_at, notes, groups, partitions }
        var c = encoder.container(keyedBy: K.self)
        try c.encode(generatedAt, forKey: .generated_at)
        try c.encode(notes, forKey: .notes)
        try c.encode(groups.map { GroupRow(group: $0.name, state: $0.state, members: $0.members, lag: $0.lag, lag_seconds: $0.lagSeconds,
                                           status: $0.status?.rawValue, trend_per_minute: $0.trendPerMinute, topics: $0.topics) },
                     forKey: .groups)
        try c.encode(groups.flatMap { g in g.partitions.map {
            PartitionRow(group: g.name, topic: $0.topic, partition: $0.partition, committed: $0.committed, start: $0.logStart, end: $0.logEnd,
                         lag: $0.lag, lag_seconds: $0.lagSeconds, owner: $0.owner, status: $0.status?.rawValue)
        } }, forKey: .partitions)
    }
}

/// Reads a `LagReport` from the cluster with a handful of requests, whatever the partition count.
public struct LagCollector: Sendable {
    public let admin: KafkaAdmin
    public var now: @Sendable () -> Date = { Date() }

    public init(admin: KafkaAdmin) { self.admin = admin }

    /// `groups` empty: every group the broker lists, else `fallbackGroups`. `topicPattern`
    /// (a regular expression) limits the topics; internal topics (`__…`) are never shown.
    public func collect(groups requested: [String], topicPattern: String?, fallbackGroups: [String]) throws -> LagReport {
        var notes: [String] = []
        var infos: [String: ConsumerGroupInfo] = [:]
        var names = requested
        do {
            for info in try admin.listGroups() where info.protocolType.isEmpty || info.protocolType == "consumer" {
                infos[info.name] = info
            }
            if names.isEmpty { names = infos.keys.filter { $0 != "logship-lag-probe" }.sorted() }
        } catch {
            notes.append("cannot list groups (\(error)); showing \(requested.isEmpty ? "the configured logship groups" : "the named groups") without members")
            if names.isEmpty { names = fallbackGroups }
        }
        let allPartitions = try admin.partitions(matching: topicPattern)
        let logOffsets = try admin.logOffsets(allPartitions)
        let nowMs = Int64(now().timeIntervalSince1970 * 1000)

        var groups: [LagReport.Group] = []
        var probes: [TopicPartition: Int64] = [:]
        for name in names {
            let info = infos[name]
            var owners: [TopicPartition: String] = [:]
            for member in info?.members ?? [] {
                for tp in member.assignment { owners[tp] = "\(member.clientID)@\(member.host)" }
            }
            let committed = try admin.committedOffsets(group: name, partitions: allPartitions)
            // The group's topics: where it committed or owns a partition. Its other partitions of
            // those topics count too (from the log start when never committed).
            let consumed = Set(allPartitions.filter { (committed[$0] ?? nil) != nil || owners[$0] != nil }.map(\.topic))
            var partitions: [LagReport.Partition] = []
            for tp in allPartitions where consumed.contains(tp.topic) {
                let commit = committed[tp] ?? nil
                guard let (low, high) = logOffsets[tp] else { continue }
                let from = max(commit ?? low, low)
                let lag = max(high - from, 0)
                if lag > 0 { probes[tp] = from }
                partitions.append(.init(topic: tp.topic, partition: tp.partition, committed: commit, logStart: low, logEnd: high,
                                        lag: lag, lagSeconds: 0, owner: owners[tp], status: nil))
            }
            groups.append(.init(name: name, state: info?.state ?? "unknown", members: info?.members.count ?? 0, lag: 0,
                                lagSeconds: 0, topics: [], partitions: partitions, status: nil, trendPerMinute: nil))
        }
        // One probe per lagging partition, shared by the groups behind at the same place or not.
        let timestamps = try admin.messageTimestamps(at: probes)
        for index in groups.indices {
            for p in groups[index].partitions.indices {
                let entry = groups[index].partitions[p]
                let tp = TopicPartition(entry.topic, entry.partition)
                guard entry.lag > 0, probes[tp] == max(entry.committed ?? entry.logStart, entry.logStart) else { continue }
                if let ts = timestamps[tp] { groups[index].partitions[p].lagSeconds = max(Double(nowMs - ts) / 1000, 0) }
            }
            groups[index].topics = Self.totals(groups[index].partitions)
            groups[index].lag = groups[index].partitions.reduce(0) { $0 + $1.lag }
            groups[index].lagSeconds = groups[index].partitions.map(\.lagSeconds).max() ?? 0
        }
        return LagReport(generatedAt: ISO8601DateFormatter().string(from: now()), groups: groups, notes: notes)
    }

    static func totals(_ partitions: [LagReport.Partition]) -> [LagReport.TopicTotal] {
        Dictionary(grouping: partitions, by: \.topic).map { topic, list in
            LagReport.TopicTotal(topic: topic, partitions: list.count, lag: list.reduce(0) { $0 + $1.lag },
                                 lagSeconds: list.map(\.lagSeconds).max() ?? 0)
        }.sorted { $0.topic < $1.topic }
    }
}

extension LagReport {
    /// Adds this report's samples to the window and fills in statuses and trends (one sample
    /// judges little: OK, or STOP when nobody owns the lag; more samples add the trend).
    public mutating func judge(window: inout SampleWindow<String>, atMs: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) {
        for g in groups.indices {
            var keys: [String] = []
            for p in groups[g].partitions.indices {
                let entry = groups[g].partitions[p]
                let key = "\(groups[g].name)|\(entry.topic)|\(entry.partition)"
                keys.append(key)
                window.add(.init(atMs: atMs, committed: entry.committed, logEnd: entry.logEnd, lag: entry.lag,
                                 owned: entry.owner != nil), for: key)
                groups[g].partitions[p].status = window.status(of: key)
            }
            groups[g].status = LagStatus.group(groups[g].partitions.compactMap(\.status))
            groups[g].trendPerMinute = window.trendPerMinute(keys)
        }
    }
}
