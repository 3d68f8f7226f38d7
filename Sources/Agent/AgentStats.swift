import Synchronization

/// Counters of the agent, readable from any thread.
public final class AgentStats: Sendable {
    public struct Counters: Sendable, Equatable, Codable {
        public var bytesRead: Int64 = 0
        public var linesRead: Int64 = 0
        public var eventsQueued: Int64 = 0
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
    }

    private let counters = Mutex(Counters())
    private let perService = Mutex([String: Counters]())

    public init() {}

    public func add(_ field: WritableKeyPath<Counters, Int64>, _ amount: Int64, service: String? = nil) {
        counters.withLock { $0[keyPath: field] += amount }
        if let service {
            perService.withLock { $0[service, default: Counters()][keyPath: field] += amount }
        }
    }

    public func set(_ field: WritableKeyPath<Counters, Int64>, _ value: Int64) {
        counters.withLock { $0[keyPath: field] = value }
    }

    public var snapshot: Counters { counters.withLock { $0 } }
    public var byService: [String: Counters] { perService.withLock { $0 } }
}
