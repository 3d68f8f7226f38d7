/// Burrow-style consumer status, evaluated over a sliding window of samples. Pure: the lag
/// command (`--watch`) and the coordinator feed it samples and show what it says.
///
/// Partition rules, for a window of at least two samples (oldest first):
/// - `rewind`: the committed offset went backwards between two samples (a reset or a bug);
/// - `ok`: the lag was 0 in some sample, or the consumer moved and the lag did not grow overall;
/// - `stall`: the committed offset never moved while there was lag in every sample, and a
///   member owns the partition (a consumer that is alive but stuck);
/// - `stop`: the same with nobody owning the partition (the consumer is gone);
/// - `warn`: the consumer moves, but the lag grew in every interval (falling behind).
/// A group is `err` when any partition is rewind, stall or stop; `warn` when any is warn;
/// else `ok`. One sample is too few to judge a trend: `ok` unless its lag is behind a stopped
/// group (no owner), which is `stop`.
public enum LagStatus: String, Sendable, Codable, Comparable, CaseIterable {
    case ok = "OK", warn = "WARN", err = "ERR", stop = "STOP", stall = "STALL", rewind = "REWIND"

    var severity: Int {
        switch self {
        case .ok: return 0
        case .warn: return 1
        case .err: return 2
        case .rewind: return 3
        case .stall: return 4
        case .stop: return 5
        }
    }

    public static func < (lhs: LagStatus, rhs: LagStatus) -> Bool { lhs.severity < rhs.severity }

    /// One observation of a partition.
    public struct Sample: Sendable, Equatable {
        public var atMs: Int64
        /// Nil: the group has no commit here (its lag counts from the log start).
        public var committed: Int64?
        public var logEnd: Int64
        public var lag: Int64
        public var owned: Bool

        public init(atMs: Int64, committed: Int64?, logEnd: Int64, lag: Int64, owned: Bool) {
            self.atMs = atMs
            self.committed = committed
            self.logEnd = logEnd
            self.lag = lag
            self.owned = owned
        }
    }

    public static func partition(_ window: [Sample]) -> LagStatus {
        guard let last = window.last else { return .ok }
        if window.contains(where: { $0.lag == 0 }) { return .ok }
        guard window.count >= 2 else { return last.owned ? .ok : .stop }
        let pairs = zip(window, window.dropFirst())
        if pairs.contains(where: { ($1.committed ?? 0) < ($0.committed ?? 0) }) { return .rewind }
        let first = window[0]
        if first.committed == last.committed {
            return last.owned ? .stall : .stop
        }
        if pairs.allSatisfy({ $1.lag > $0.lag }) { return .warn }
        return .ok
    }

    public static func group(_ partitions: [LagStatus]) -> LagStatus {
        if partitions.contains(where: { $0 == .rewind || $0 == .stall || $0 == .stop }) { return .err }
        return partitions.contains(.warn) ? .warn : .ok
    }
}

/// Keeps the last `capacity` samples per key (a partition) for `LagStatus`.
public struct SampleWindow<Key: Hashable & Sendable>: Sendable {
    public let capacity: Int
    public private(set) var samples: [Key: [LagStatus.Sample]] = [:]

    public init(capacity: Int = 10) { self.capacity = max(capacity, 2) }

    public mutating func add(_ sample: LagStatus.Sample, for key: Key) {
        var list = samples[key, default: []]
        list.append(sample)
        if list.count > capacity { list.removeFirst(list.count - capacity) }
        samples[key] = list
    }

    public func status(of key: Key) -> LagStatus { LagStatus.partition(samples[key] ?? []) }

    /// Change of the summed lag per minute over the window, for the keys given.
    public func trendPerMinute(_ keys: [Key]) -> Double? {
        var firstAt = Int64.max, lastAt = Int64.min, firstLag: Int64 = 0, lastLag: Int64 = 0
        for key in keys {
            guard let list = samples[key], let first = list.first, let last = list.last else { continue }
            firstAt = min(firstAt, first.atMs); lastAt = max(lastAt, last.atMs)
            firstLag += first.lag; lastLag += last.lag
        }
        guard lastAt > firstAt else { return nil }
        return Double(lastLag - firstLag) * 60_000 / Double(lastAt - firstAt)
    }
}
