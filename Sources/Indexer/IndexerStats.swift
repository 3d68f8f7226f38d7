import Foundation
import LogModel
import Synchronization
import Prometheus
import Telemetry

/// Counters of one indexer, per service, plus bulk timings; published to its `RoleMetrics`.
public final class IndexerStats: Sendable {
    public struct Service: Sendable, Codable, Equatable {
        public var indexed: Int64 = 0
        public var duplicates: Int64 = 0
        public var deadLettered: Int64 = 0
        public var retried: Int64 = 0
    }

    struct State {
        var services: [String: Service] = [:]
        var bulkRequests: Int64 = 0
        var bulkFailures: Int64 = 0
        var owned: [String] = []
        var lag: [String: Int64] = [:]
        var lastError: String?
        var commits: Int64 = 0
        var stalled = false
    }

    let state = Mutex(State())

    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }

    public var services: [String: Service] { state.withLock { $0.services } }
    public var commits: Int64 { state.withLock { $0.commits } }

    /// The indexer's series: counters and gauges published from the state above, histograms
    /// recorded as batches are written.
    public let metrics: RoleMetrics
    let bulkLatency: ValueHistogram
    let batchSize: ValueHistogram
    let endToEnd: ValueHistogram

    public init(version: String = logshipVersion) {
        metrics = RoleMetrics(role: "indexer", version: version)
        bulkLatency = metrics.histogram("logship_indexer_bulk_duration_seconds", help: "Seconds per bulk request.",
                                        buckets: RoleMetrics.latencyBuckets)
        batchSize = metrics.histogram("logship_indexer_batch_documents", help: "Documents per bulk request.",
                                      buckets: RoleMetrics.batchBuckets)
        endToEnd = metrics.histogram("logship_indexer_end_to_end_latency_seconds",
                                     help: "Seconds from the agent's produce (the record's Kafka timestamp) to Elasticsearch's acknowledgement.",
                                     buckets: RoleMetrics.latencyBuckets)
    }

    /// Records one bulk request of `documents`, and, per acknowledged record, its age.
    func recordBulk(seconds: Double, documents: Int, acknowledgedAt nowMs: Int64, producedAt: [Int64]) {
        bulkLatency.record(seconds)
        batchSize.record(Double(documents))
        for produced in producedAt { endToEnd.record(Double(max(nowMs - produced, 0)) / 1_000) }
    }

    /// Publishes the counters and gauges of the state into `metrics` (before each scrape).
    public func publish() {
        let s = state.withLock { $0 }
        for (service, counts) in s.services {
            let labels = [("service", service)]
            metrics.publish(counter: "logship_indexer_documents_indexed_total", help: "Documents Elasticsearch created.", labels: labels, value: counts.indexed)
            metrics.publish(counter: "logship_indexer_documents_duplicate_total", help: "Documents already there (409).", labels: labels, value: counts.duplicates)
            metrics.publish(counter: "logship_indexer_documents_dead_lettered_total", help: "Records sent to logs.dlq.", labels: labels, value: counts.deadLettered)
            metrics.publish(counter: "logship_indexer_documents_retried_total", help: "Bulk items sent again (429, 5xx).", labels: labels, value: counts.retried)
        }
        metrics.publish(counter: "logship_indexer_bulk_requests_total", help: "Bulk requests sent.", value: s.bulkRequests)
        metrics.publish(counter: "logship_indexer_bulk_failures_total", help: "Bulk requests that failed as a whole.", value: s.bulkFailures)
        metrics.publish(counter: "logship_indexer_commits_total", help: "Offset commits that succeeded.", value: s.commits)
        metrics.publish(gauge: "logship_indexer_stalled", help: "1 while the stall watchdog finds this member stuck (see the log).", value: s.stalled ? 1 : 0)
        metrics.publish(gauge: "logship_indexer_owned_partitions", help: "Partitions this member owns.", value: Double(s.owned.count))
        metrics.publish(gauge: "logship_indexer_partition_lag", help: "Messages behind, per owned partition.",
                        samples: s.lag.map { key, value in
                            let parts = key.split(separator: "/")
                            return (labels: [("topic", String(parts[0])), ("partition", parts.count > 1 ? String(parts[1]) : "")], value: Double(value))
                        })
    }

    public func renderPrometheus() -> String {
        publish()
        return metrics.render()
    }
}
