import Synchronization

/// Counters of the agent, readable from any thread.
public final class AgentStats: Sendable {
    public struct Counters: Sendable, Equatable, Codable {
        public var bytesRead: Int64 = 0
        public var linesRead: Int64 = 0
        public var eventsSent: Int64 = 0
        public var eventsFailed: Int64 = 0
        public var droppedDebug: Int64 = 0
        public var droppedEmpty: Int64 = 0
        public var secretsMasked: Int64 = 0
        public var invalidUTF8Lines: Int64 = 0
        public var truncatedLines: Int64 = 0
        public var truncations: Int64 = 0
        public var rotations: Int64 = 0
        public var filesOpen: Int64 = 0
        /// Records their input's format could not read: shipped as plain text, tagged `unparsed`.
        public var unparsedRecords: Int64 = 0
        /// Records stamped beyond `future_limit` ahead of the host clock: shipped with the read time.
        public var futureTimestamps: Int64 = 0
        /// Files the inputs' globs matched at the last scan, and those of them left unread
        /// (`exclude`, compressed rotations, `ignore_older`).
        public var filesMatched: Int64 = 0
        public var filesIgnored: Int64 = 0

        nonisolated(unsafe) static let fields: [WritableKeyPath<Counters, Int64>] = [
            \.bytesRead, \.linesRead, \.eventsSent, \.eventsFailed, \.droppedDebug, \.droppedEmpty, \.secretsMasked,
            \.invalidUTF8Lines, \.truncatedLines, \.truncations, \.rotations, \.filesOpen, \.unparsedRecords,
            \.futureTimestamps, \.filesMatched, \.filesIgnored,
        ]

        static func += (lhs: inout Counters, rhs: Counters) {
            for field in fields where rhs[keyPath: field] != 0 { lhs[keyPath: field] += rhs[keyPath: field] }
        }
    }

    private struct State {
        var total = Counters()
        var services: [String: Counters] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// One lock per update, for the total and the service together.
    public func add(_ field: WritableKeyPath<Counters, Int64>, _ amount: Int64, service: String? = nil) {
        state.withLock { state in
            state.total[keyPath: field] += amount
            if let service { state.services[service, default: Counters()][keyPath: field] += amount }
        }
    }

    /// Adds counts gathered locally (per chunk read, per loop), in one lock.
    public func add(_ counts: Counters, service: String? = nil) {
        state.withLock { state in
            state.total += counts
            if let service { state.services[service, default: Counters()] += counts }
        }
    }

    public func set(_ field: WritableKeyPath<Counters, Int64>, _ value: Int64) {
        state.withLock { $0.total[keyPath: field] = value }
    }

    public var snapshot: Counters { state.withLock { $0.total } }
    public var byService: [String: Counters] { state.withLock { $0.services } }
}
