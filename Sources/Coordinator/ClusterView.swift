import Foundation
import LogModel
import Operations

/// One component as the coordinator sees it from its last heartbeat.
public struct ComponentView: Codable, Sendable, Equatable {
    public var id: String
    public var role: String
    public var host: String
    public var version: String
    /// `up`; `stalled` when the component reports itself stuck (`status_reason` says how);
    /// `stale` after 3 missed beats; `stopped` after a clean shutdown's final beat.
    public var status: String
    public var statusReason: String?
    public var lastSeen: String
    public var startedAt: String
    public var intervalMs: Int
    public var ownedPartitions: [String]
    public var counters: [String: Int64]
    public var lastError: String?

    enum CodingKeys: String, CodingKey {
        case id, role, host, version, status, counters
        case lastSeen = "last_seen", startedAt = "started_at", intervalMs = "interval_ms"
        case ownedPartitions = "owned_partitions", lastError = "last_error", statusReason = "status_reason"
    }
}

public struct GroupView: Codable, Sendable, Equatable {
    public var name: String
    public var members: Int
    public var partitions: Int
    public var lag: Int64
    public var lagSeconds: Double
    public var status: String
    public var trendPerMinute: Double?
    public var advice: String?

    enum CodingKeys: String, CodingKey {
        case name, members, partitions, lag, status, advice
        case lagSeconds = "lag_seconds", trendPerMinute = "trend_per_minute"
    }
}

public struct ServiceView: Codable, Sendable, Equatable {
    public var name: String
    public var eventsPerSecond: Double
    public var errorPct: Double
    public var owner: String?

    enum CodingKeys: String, CodingKey { case name, owner, eventsPerSecond = "events_per_second", errorPct = "error_pct" }
}

/// `/api/v1/cluster`: the overall verdict and what it rests on.
public struct ClusterReport: Codable, Sendable, Equatable {
    /// `healthy`, `degraded` or `down`.
    public var status: String
    public var reasons: [String]
    public var components: [String: [String: Int]]
    public var kafka: Backend
    public var elasticsearch: Backend
    public var groups: [GroupView]
    public var services: [ServiceView]
    public var recentAlerts: Int

    public struct Backend: Codable, Sendable, Equatable {
        public var reachable: Bool
        public var status: String
        public var detail: String
        public init(reachable: Bool, status: String, detail: String) {
            self.reachable = reachable
            self.status = status
            self.detail = detail
        }
    }

    enum CodingKeys: String, CodingKey {
        case status, reasons, components, kafka, elasticsearch, groups, services
        case recentAlerts = "recent_alerts"
    }
}

/// The health rules, as pure functions (unit-tested without a cluster).
public enum HealthRules {
    /// A component is stale when its last beat is older than 3 of its intervals; otherwise it is
    /// what its beat says (`up`, `stalled`, `stopped`).
    /// `expiryMs`: a component whose last beat is older is forgotten (not listed at all).
    public static func components(_ beats: [ComponentBeat], nowMs: Int64, expiryMs: Int64 = .max) -> [ComponentView] {
        beats.filter { nowMs - (Timestamps.epochMillis(of: $0.sentAt) ?? 0) <= expiryMs }.map { beat in
            let sent = Timestamps.epochMillis(of: beat.sentAt) ?? 0
            let status = beat.status == "stopped" ? "stopped"
                : nowMs - sent > 3 * Int64(max(beat.intervalMs, 1)) ? "stale"
                : beat.status == "stalled" ? "stalled" : "up"
            return ComponentView(id: beat.id, role: beat.role, host: beat.host, version: beat.version, status: status,
                                 statusReason: status == "stalled" ? beat.statusReason : nil,
                                 lastSeen: beat.sentAt, startedAt: beat.startedAt, intervalMs: beat.intervalMs,
                                 ownedPartitions: beat.ownedPartitions, counters: beat.counters, lastError: beat.lastError)
        }.sorted { ($0.role, $0.id) < ($1.role, $1.id) }
    }

    /// Scaling advice for a consumer group: members against partitions and the lag trend.
    public static func advice(role: String, members: Int, partitions: Int, trendPerMinute: Double?, lag: Int64) -> String? {
        if members == 0 && lag > 0 { return "\(role) group: no member and lag \(lag) — start \(role)s" }
        if members > partitions && partitions > 0 {
            return "\(role) group: \(members) members, \(partitions) partitions — \(members - partitions) member(s) idle; add partitions to use them"
        }
        if let trend = trendPerMinute, trend > 0, lag > 0 {
            let rising = "\(role) group: \(members) members, \(partitions) partitions, lag rising \(formatRate(trend))/min"
            return members < partitions ? rising + " — add \(role)s" : rising + " — every partition has a member; add partitions, then \(role)s"
        }
        return nil
    }

    static func formatRate(_ value: Double) -> String { value >= 1_000 ? String(format: "%.0fk", value / 1_000) : String(format: "%.0f", value) }

    /// down: Kafka or Elasticsearch unreachable, or no indexer up (a stalled one counts as up: it
    /// is there, holding its partitions). degraded: a component stale or stalled, Elasticsearch
    /// red or yellow, a group lagging (WARN, STALL, STOP, ERR). healthy otherwise.
    public static func verdict(components: [ComponentView], kafka: ClusterReport.Backend, elasticsearch: ClusterReport.Backend,
                               groups: [GroupView]) -> (status: String, reasons: [String]) {
        var down: [String] = [], degraded: [String] = []
        if !kafka.reachable { down.append("Kafka unreachable: \(kafka.detail)") }
        if !elasticsearch.reachable { down.append("Elasticsearch unreachable: \(elasticsearch.detail)") }
        let indexers = components.filter { $0.role == "indexer" }
        if !indexers.isEmpty && !indexers.contains(where: { ["up", "stalled"].contains($0.status) }) { down.append("no indexer is up") }
        for component in components where component.status == "stale" {
            degraded.append("\(component.role) \(component.id) on \(component.host) is stale (last seen \(component.lastSeen))")
        }
        for component in components where component.status == "stalled" {
            degraded.append("\(component.role) \(component.id) on \(component.host) is stalled: \(component.statusReason ?? "no reason given")")
        }
        if elasticsearch.reachable && elasticsearch.status != "green" { degraded.append("Elasticsearch status \(elasticsearch.status)") }
        for group in groups where !["OK", "unknown"].contains(group.status) {
            degraded.append("group \(group.name): lag \(group.lag) (\(group.status))")
        }
        if !down.isEmpty { return ("down", down + degraded) }
        if !degraded.isEmpty { return ("degraded", degraded) }
        return ("healthy", [])
    }
}
