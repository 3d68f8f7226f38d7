/// A heartbeat on `logship.health` (compacted, key = component id): who is alive, doing what.
public struct ComponentBeat: Codable, Sendable, Equatable {
    public var id: String
    public var role: String
    public var host: String
    public var version: String
    /// RFC 3339 UTC.
    public var startedAt: String
    public var sentAt: String
    /// `up`; `stalled` when the role finds itself stuck (`statusReason` says how); `stopped` for
    /// the final beat of a clean shutdown.
    public var status: String
    public var intervalMs: Int
    /// Counters and rates of the role (events sent, lines read, …).
    public var counters: [String: Int64]
    public var ownedPartitions: [String]
    public var lastError: String?
    public var statusReason: String?

    public init(id: String, role: String, host: String, version: String, startedAt: String, sentAt: String,
                status: String, intervalMs: Int, counters: [String: Int64] = [:], ownedPartitions: [String] = [],
                lastError: String? = nil, statusReason: String? = nil) {
        self.id = id
        self.role = role
        self.host = host
        self.version = version
        self.startedAt = startedAt
        self.sentAt = sentAt
        self.status = status
        self.intervalMs = intervalMs
        self.counters = counters
        self.ownedPartitions = ownedPartitions
        self.lastError = lastError
        self.statusReason = statusReason
    }

    enum CodingKeys: String, CodingKey {
        case id, role, host, version, status, counters
        case startedAt = "started_at"
        case sentAt = "sent_at"
        case intervalMs = "interval_ms"
        case ownedPartitions = "owned_partitions"
        case lastError = "last_error"
        case statusReason = "status_reason"
    }
}
