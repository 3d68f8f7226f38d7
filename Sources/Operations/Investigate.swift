import ElasticClient
import Foundation
import LogModel

/// The questions operators ask at 3 a.m., as Elasticsearch queries over `logs-*`: the
/// error-rate board, slow endpoints, one trace, search. Field names are DESIGN.md's.
public enum Investigate {
    public static let index = "logs-*"
    static let errorLevels: [JSONValue] = ["ERROR", "CRITICAL"]

    static func range(_ fromMs: Int64, _ toMs: Int64) -> JSONValue {
        ["range": ["@timestamp": ["gte": .string(Timestamps.format(epochMillis: fromMs)), "lt": .string(Timestamps.format(epochMillis: toMs))]]]
    }

    // MARK: errors

    public struct ErrorRow: Codable, Sendable, Equatable {
        public var service: String
        public var events: Int
        public var errors: Int
        public var errorPct: Double
        public var previousEvents: Int
        public var previousErrors: Int
        public var previousErrorPct: Double
        /// Relative change of the error percentage against the previous period, in percent;
        /// nil when the previous period had no errors (a new problem).
        public var changePct: Double?
        /// Errors per slice of the period, oldest first.
        public var sparkline: [Int]

        enum CodingKeys: String, CodingKey {
            case service, events, errors, sparkline
            case errorPct = "error_pct", previousEvents = "previous_events", previousErrors = "previous_errors"
            case previousErrorPct = "previous_error_pct", changePct = "change_pct"
        }

        /// `change_pct` is always there: null means "new" (no errors before).
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(service, forKey: .service)
            try c.encode(events, forKey: .events)
            try c.encode(errors, forKey: .errors)
            try c.encode(errorPct, forKey: .errorPct)
            try c.encode(previousEvents, forKey: .previousEvents)
            try c.encode(previousErrors, forKey: .previousErrors)
            try c.encode(previousErrorPct, forKey: .previousErrorPct)
            try c.encode(changePct, forKey: .changePct)
            try c.encode(sparkline, forKey: .sparkline)
        }
    }

    /// Per service over [now − period, now) against [now − 2·period, now − period), worst
    /// error percentage first.
    public static func errors(_ es: ElasticClient, periodMs: Int64, nowMs: Int64, service: String?, slices: Int = 12) throws -> [ErrorRow] {
        let start = nowMs - periodMs, previousStart = nowMs - 2 * periodMs
        let slice = max(periodMs / Int64(slices), 1_000)
        var filters: [JSONValue] = [range(previousStart, nowMs)]
        if let service { filters.append(["term": ["service.name": .string(service)]]) }
        let isError: JSONValue = ["terms": ["log.level": .array(errorLevels)]]
        let answer = try es.search(index, [
            "size": 0, "query": ["bool": ["filter": .array(filters)]],
            "aggs": ["services": ["terms": ["field": "service.name", "size": 10_000], "aggs": [
                "current": ["filter": range(start, nowMs), "aggs": [
                    "errors": ["filter": isError, "aggs": [
                        "slices": ["date_histogram": ["field": "@timestamp", "fixed_interval": .string("\(slice)ms")]],
                    ]],
                ]],
                "previous": ["filter": range(previousStart, start), "aggs": ["errors": ["filter": isError]]],
            ]]],
        ])
        var rows: [ErrorRow] = []
        for bucket in answer[path: "aggregations.services.buckets"]?.array ?? [] {
            guard let name = bucket["key"]?.string else { continue }
            let events = bucket[path: "current.doc_count"]?.int ?? 0
            let errors = bucket[path: "current.errors.doc_count"]?.int ?? 0
            let previousEvents = bucket[path: "previous.doc_count"]?.int ?? 0
            let previousErrors = bucket[path: "previous.errors.doc_count"]?.int ?? 0
            guard events > 0 || previousEvents > 0 else { continue }
            var spark = Array(repeating: 0, count: Int((periodMs + slice - 1) / slice))
            for entry in bucket[path: "current.errors.slices.buckets"]?.array ?? [] {
                guard let key = entry["key"]?.double, let count = entry["doc_count"]?.int else { continue }
                let at = min(max(Int((Int64(key) - start) / slice), 0), spark.count - 1)
                spark[at] += count
            }
            let pct = percent(errors, events), previousPct = percent(previousErrors, previousEvents)
            rows.append(ErrorRow(service: name, events: events, errors: errors, errorPct: pct, previousEvents: previousEvents,
                                 previousErrors: previousErrors, previousErrorPct: previousPct,
                                 changePct: previousPct == 0 ? (pct == 0 ? 0 : nil) : (pct - previousPct) / previousPct * 100,
                                 sparkline: spark))
        }
        return rows.sorted { ($0.errorPct, $0.errors, $1.service) > ($1.errorPct, $1.errors, $0.service) }
    }

    static func percent(_ part: Int, _ whole: Int) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) * 100 }

    public static func sparkline(_ values: [Int]) -> String {
        let bars = Array("▁▂▃▄▅▆▇█")
        guard let top = values.max(), top > 0 else { return String(repeating: bars[0], count: values.count) }
        return String(values.map { bars[min(bars.count - 1, $0 * (bars.count - 1) / top)] })
    }

    // MARK: slow

    public struct SlowRow: Codable, Sendable, Equatable {
        public var path: String
        public var status: Int?
        public var count: Int
        public var p50Ms: Double
        public var p95Ms: Double
        public var maxMs: Double

        enum CodingKeys: String, CodingKey { case path, status, count, p50Ms = "p50_ms", p95Ms = "p95_ms", maxMs = "max_ms" }
    }

    /// Requests at least `minDurationMs` long, grouped by `url.path` and status. Percentiles
    /// come from Elasticsearch's `percentiles` aggregation where the cluster has it; elsewhere
    /// they are computed here, exactly (nearest rank), from the matching documents.
    /// Failing groups (status ≥ 500) first, then by count.
    public static func slow(_ es: ElasticClient, minDurationMs: Double, fromMs: Int64, toMs: Int64, service: String?,
                            top: Int, maxDocuments: Int = 200_000) throws -> [SlowRow] {
        var filters: [JSONValue] = [range(fromMs, toMs), ["range": ["event.duration": ["gte": .number(minDurationMs * 1_000_000)]]]]
        if let service { filters.append(["term": ["service.name": .string(service)]]) }
        let query: JSONValue = ["bool": ["filter": .array(filters)]]
        var rows: [SlowRow]
        do {
            rows = try slowByAggregation(es, query)
        } catch let error as ElasticError where error.message.contains("percentiles") {
            rows = try slowByDocuments(es, query, maxDocuments: maxDocuments)
        }
        rows.sort { a, b in
            let failingA = (a.status ?? 0) >= 500, failingB = (b.status ?? 0) >= 500
            return (failingA ? 1 : 0, a.count, b.path) > (failingB ? 1 : 0, b.count, a.path)
        }
        return Array(rows.prefix(top))
    }

    static func slowByAggregation(_ es: ElasticClient, _ query: JSONValue) throws -> [SlowRow] {
        let answer = try es.search(index, [
            "size": 0, "query": query,
            "aggs": ["paths": ["terms": ["field": "url.path", "size": 10_000, "missing": "-"], "aggs": [
                "statuses": ["terms": ["field": "http.response.status_code", "size": 100, "missing": -1], "aggs": [
                    "p": ["percentiles": ["field": "event.duration", "percents": [50, 95]]],
                    "max": ["max": ["field": "event.duration"]],
                ]],
            ]]],
        ])
        var rows: [SlowRow] = []
        for path in answer[path: "aggregations.paths.buckets"]?.array ?? [] {
            for status in path[path: "statuses.buckets"]?.array ?? [] {
                let code = status["key"]?.int
                rows.append(SlowRow(path: path["key"]?.string ?? "-", status: code == -1 ? nil : code, count: status["doc_count"]?.int ?? 0,
                                    p50Ms: (status[path: "p.values"]?["50.0"]?.double ?? 0) / 1e6,
                                    p95Ms: (status[path: "p.values"]?["95.0"]?.double ?? 0) / 1e6,
                                    maxMs: (status[path: "max.value"]?.double ?? 0) / 1e6))
            }
        }
        return rows
    }

    static func slowByDocuments(_ es: ElasticClient, _ query: JSONValue, maxDocuments: Int) throws -> [SlowRow] {
        var groups: [String: (path: String, status: Int?, durations: [Double])] = [:]
        try scan(es, query, fields: ["url.path", "http.response.status_code", "event.duration"], limit: maxDocuments) { source in
            let path = source[path: "url.path"]?.string ?? "-"
            let status = source[path: "http.response.status_code"]?.int
            guard let duration = source[path: "event.duration"]?.double else { return }
            groups["\(path) \(status ?? -1)", default: (path, status, [])].durations.append(duration / 1e6)
        }
        return groups.values.map { group in
            let sorted = group.durations.sorted()
            return SlowRow(path: group.path, status: group.status, count: sorted.count, p50Ms: nearestRank(sorted, 50),
                           p95Ms: nearestRank(sorted, 95), maxMs: sorted.last ?? 0)
        }
    }

    /// The smallest value with at least p % of the values at or below it.
    public static func nearestRank(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Every matching document's `_source` (only `fields`), oldest first, in pages.
    static func scan(_ es: ElasticClient, _ query: JSONValue, fields: [String], limit: Int, each: (JSONValue) throws -> Void) throws {
        var after: JSONValue?
        var seen = 0
        while seen < limit {
            var body: [String: JSONValue] = [
                "size": .number(Double(min(5_000, limit - seen))), "query": query,
                "_source": .array(fields.map { .string($0) }),
                "sort": [["@timestamp": "asc"], ["event.id": "asc"]],
            ]
            if let after { body["search_after"] = after }
            let hits = try es.search(index, .object(body))[path: "hits.hits"]?.array ?? []
            for hit in hits { try each(hit["_source"] ?? .null) }
            seen += hits.count
            guard hits.count == Int(body["size"]?.double ?? 0), let last = hits.last?["sort"] else { return }
            after = last
        }
    }

    // MARK: patterns

    /// One message read for mining, with its error's type and message when it has one.
    public struct Message: Sendable {
        public var timeMs: Int64
        public var message: String
        public var traceID: String?
        public var errorType: String?
        public var errorMessage: String?
    }

    /// The messages of `service` (and `level`) in [fromMs, toMs): all of them up to `limit`,
    /// else a sample spread evenly over time (the period in `slices`, `limit / slices` from each,
    /// oldest first), with the rate read ÷ matching. `progress` hears of each page read.
    public static func messages(_ es: ElasticClient, service: String?, level: String?, fromMs: Int64, toMs: Int64, limit: Int,
                                slices: Int = 20, progress: (Int) -> Void = { _ in }) throws -> (messages: [Message], matching: Int, sampleRate: Double) {
        func query(_ from: Int64, _ to: Int64) -> JSONValue {
            var filters: [JSONValue] = [range(from, to)]
            if let service { filters.append(["term": ["service.name": .string(service)]]) }
            if let level { filters.append(["term": ["log.level": .string(level.uppercased())]]) }
            return ["bool": ["filter": .array(filters)]]
        }
        let matching = try es.count(index, query: query(fromMs, toMs))
        guard matching > 0 else { return ([], 0, 1) }
        let sampled = matching > limit
        let pieces = sampled ? max(slices, 1) : 1
        let step = max((toMs - fromMs) / Int64(pieces), 1)
        var out: [Message] = []
        out.reserveCapacity(min(matching, limit))
        for piece in 0..<pieces {
            let from = fromMs + Int64(piece) * step, to = piece == pieces - 1 ? toMs : from + step
            try scan(es, query(from, to), fields: ["@timestamp", "message", "trace.id", "error.type", "error.message"],
                     limit: sampled ? limit / pieces : limit) { source in
                out.append(Message(timeMs: source["@timestamp"]?.string.flatMap(Timestamps.epochMillis(of:)) ?? from,
                                   message: source["message"]?.string ?? "", traceID: source[path: "trace.id"]?.string,
                                   errorType: source[path: "error.type"]?.string, errorMessage: source[path: "error.message"]?.string))
            }
            progress(out.count)
        }
        return (out, matching, Double(out.count) / Double(matching))
    }

    // MARK: trace and search

    /// The events of one trace across services, in time order (as stored).
    public static func trace(_ es: ElasticClient, id: String, limit: Int = 10_000) throws -> [JSONValue] {
        let answer = try es.search(index, ["size": .number(Double(limit)), "query": ["term": ["trace.id": .string(id)]],
                                           "sort": [["@timestamp": "asc"], ["event.id": "asc"]]])
        return (answer[path: "hits.hits"]?.array ?? []).compactMap { $0["_source"] }
    }

    public struct SearchFilter: Sendable {
        public var query: String?
        public var service: String?
        public var level: String?
        public var fromMs: Int64?
        public init(query: String?, service: String?, level: String?, fromMs: Int64?) {
            self.query = query
            self.service = service
            self.level = level
            self.fromMs = fromMs
        }

        var elastic: JSONValue {
            var filters: [JSONValue] = []
            if let query, !query.isEmpty { filters.append(["query_string": ["query": .string(query), "default_field": "message"]]) }
            if let service { filters.append(["term": ["service.name": .string(service)]]) }
            if let level { filters.append(["term": ["log.level": .string(level.uppercased())]]) }
            if let fromMs { filters.append(["range": ["@timestamp": ["gte": .string(Timestamps.format(epochMillis: fromMs))]]]) }
            return ["bool": ["filter": .array(filters)]]
        }
    }

    /// A search hit: the document as stored, with where it is.
    public struct Hit: Sendable {
        public var index: String
        public var id: String
        public var source: JSONValue
    }

    /// The newest `limit` matches, returned oldest first.
    public static func search(_ es: ElasticClient, _ filter: SearchFilter, limit: Int) throws -> [Hit] {
        let answer = try es.search(index, ["size": .number(Double(limit)), "query": filter.elastic,
                                           "sort": [["@timestamp": "desc"], ["event.id": "desc"]]])
        return (answer[path: "hits.hits"]?.array ?? []).reversed().compactMap { hit in
            guard let id = hit["_id"]?.string, let source = hit["_source"] else { return nil }
            return Hit(index: hit["_index"]?.string ?? "", id: id, source: source)
        }
    }
}
