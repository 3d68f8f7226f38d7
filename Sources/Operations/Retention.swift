import ElasticClient
import Foundation
import LogModel

/// Deletes daily `logs-*` indices older than N days, for clusters without ILM (OpenSearch,
/// noida-db). The day is the one in the index name (`logs-<service>-<yyyy.MM.dd>[-suffix]`),
/// i.e. the events' day, so a replay of old events does not keep an index alive.
public enum Retention {
    public struct Expired: Codable, Sendable, Equatable {
        public var index: String
        public var day: String
    }

    /// The indices whose day is before `today − days`. Names that are not daily log indices
    /// are never touched. Pure.
    public static func expired(_ indices: [String], days: Int, today: (year: Int, month: Int, day: Int)) -> [Expired] {
        let cutoff = Timestamps.daysSinceEpoch(year: today.year, month: today.month, day: today.day) - days
        return indices.compactMap { name -> Expired? in
            guard let (y, m, d) = day(of: name), Timestamps.daysSinceEpoch(year: y, month: m, day: d) < cutoff else { return nil }
            return Expired(index: name, day: String(format: "%04d.%02d.%02d", y, m, d))
        }.sorted { ($0.day, $0.index) < ($1.day, $1.index) }
    }

    /// `logs-<service>-<yyyy.MM.dd>` with an optional `-<suffix>` (reindexed copies).
    static func day(of index: String) -> (Int, Int, Int)? {
        guard index.hasPrefix("logs-") else { return nil }
        let parts = index.split(separator: "-", omittingEmptySubsequences: false)
        for part in parts.dropFirst(2) {
            let fields = part.split(separator: ".")
            guard fields.count == 3, fields[0].count == 4, fields[1].count == 2, fields[2].count == 2,
                  let y = Int(fields[0]), let m = Int(fields[1]), let d = Int(fields[2]),
                  (1...12).contains(m), (1...31).contains(d) else { continue }
            return (y, m, d)
        }
        return nil
    }

    public static func logIndices(_ es: ElasticClient) throws -> [String] {
        let response = try es.requestBlocking("GET", "/_cat/indices/logs-*?format=json&h=index")
        guard response.isSuccess else { throw OperationsError("cannot list logs-* indices: HTTP \(response.status)") }
        guard case .array(let rows) = try response.json() else { return [] }
        return rows.compactMap { $0["index"]?.string }
    }
}
