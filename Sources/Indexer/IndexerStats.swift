import Foundation
import Synchronization

/// Counters of one indexer, per service, plus bulk timings; rendered for Prometheus.
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
        var bulkSeconds: Double = 0
        var lastBatchSize: Int64 = 0
        var bulkFailures: Int64 = 0
        var owned: [String] = []
        var lag: [String: Int64] = [:]
        var lastError: String?
        var commits: Int64 = 0
        var stalled = false
    }

    let state = Mutex(State())

    public init() {}

    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }

    public var services: [String: Service] { state.withLock { $0.services } }
    public var commits: Int64 { state.withLock { $0.commits } }

    public func renderPrometheus() -> String {
        let s = state.withLock { $0 }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        let services = s.services.sorted { $0.key < $1.key }
        func perService(_ value: (Service) -> Int64) -> [(String, String)] {
            services.map { ("{service=\"\($0.key)\"}", String(value($0.value))) }
        }
        family("logship_indexer_documents_indexed_total", "counter", "Documents Elasticsearch created.", perService(\.indexed))
        family("logship_indexer_documents_duplicate_total", "counter", "Documents already there (409).", perService(\.duplicates))
        family("logship_indexer_documents_dead_lettered_total", "counter", "Records sent to logs.dlq.", perService(\.deadLettered))
        family("logship_indexer_documents_retried_total", "counter", "Bulk items sent again (429, 5xx).", perService(\.retried))
        family("logship_indexer_bulk_requests_total", "counter", "Bulk requests sent.", [("", String(s.bulkRequests))])
        family("logship_indexer_bulk_failures_total", "counter", "Bulk requests that failed as a whole.", [("", String(s.bulkFailures))])
        family("logship_indexer_bulk_seconds_total", "counter", "Time spent in bulk requests.", [("", String(s.bulkSeconds))])
        family("logship_indexer_commits_total", "counter", "Offset commits that succeeded.", [("", String(s.commits))])
        family("logship_indexer_batch_size", "gauge", "Documents in the last batch.", [("", String(s.lastBatchSize))])
        family("logship_indexer_stalled", "gauge", "1 while the stall watchdog finds this member stuck (see the log).",
               [("", s.stalled ? "1" : "0")])
        family("logship_indexer_owned_partitions", "gauge", "Partitions this member owns.", [("", String(s.owned.count))])
        family("logship_indexer_partition_lag", "gauge", "Messages behind, per owned partition.",
               s.lag.sorted { $0.key < $1.key }.map { key, value -> (String, String) in
                   let parts = key.split(separator: "/")
                   return ("{topic=\"\(parts[0])\",partition=\"\(parts.count > 1 ? parts[1] : "")\"}", String(value))
               })
        return out
    }
}
