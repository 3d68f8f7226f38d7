import Foundation
import LogModel

/// Offline runs of the detector: the same engine over a file of events (or a count series),
/// the alert timeline, and, against labelled incidents, precision, recall and F1.
public enum Backtest {
    /// An event as the indexer stores it (ECS JSON), nil when it has no service or time.
    public static func decode(_ line: [UInt8]) -> DetectorEvent? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else { return nil }
        func field(_ path: String) -> Any? {
            if let flat = object[path] { return flat }
            var current: Any? = object
            for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
            return current
        }
        guard let service = field("service.name") as? String, let time = field("@timestamp") as? String,
              let ms = Timestamps.epochMillis(of: time) else { return nil }
        let level: DetectorEvent.Level
        switch (field("log.level") as? String)?.uppercased() {
        case "DEBUG": level = .debug
        case "INFO": level = .info
        case "WARN", "WARNING": level = .warn
        case "ERROR": level = .error
        case "CRITICAL", "FATAL": level = .critical
        default: level = .unknown
        }
        return DetectorEvent(service: service, timestampMs: ms, level: level,
                             httpStatus: (field("http.response.status_code") as? NSNumber)?.intValue,
                             durationNs: (field("event.duration") as? NSNumber)?.int64Value,
                             traceID: field("trace.id") as? String, message: field("message") as? String ?? "",
                             errorType: field("error.type") as? String, errorMessage: field("error.message") as? String)
    }

    /// The largest count a series value may carry: every integer up to it is exact in a Double.
    public static let maxSeriesValue = 9_007_199_254_740_992.0  // 2^53

    /// A `timestamp,value` series as the event volume of the service `series`: per row one event
    /// weighing the value, so memory follows the rows, not the values. Non-negative integers are
    /// counts; a fractional or negative value makes the series a measure (judged without the
    /// noise floor of counts). The first line may be a header.
    /// A row at the same time as the one before adds to it (NAB's own data repeats an hour), and
    /// is reported in `notes`. Throws naming the line for a bad time or number, a value beyond
    /// ±2^53, a time before the previous row's, or no rows.
    public static func series(_ csv: String) throws -> (events: [DetectorEvent], intervalMs: Int64?, notes: [String]) {
        var notes: [String] = []
        var events: [DetectorEvent] = []
        var previous: (ms: Int64, line: Int)?
        var gaps: [Int64] = []
        var rows = 0
        for (index, line) in csv.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let cells = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let ms = cells.count >= 2 ? Timestamps.epochMillis(of: cells[0]) ?? Double(cells[0]).flatMap { $0.isFinite ? Int64($0 * 1000) : nil } : nil
            guard let ms else {
                if rows == 0 && previous == nil && index == 0 { continue }  // a header
                throw BacktestError("series line \(number): expected timestamp,value, found \(line.prefix(80))")
            }
            guard let value = Double(cells[1]), value.isFinite, abs(value) <= maxSeriesValue else {
                throw BacktestError("series line \(number): the value must be a number of at most 2^53, found \(cells[1].prefix(40))")
            }
            if let previous, ms < previous.ms {
                throw BacktestError("series line \(number): time \(cells[0]) is before line \(previous.line)'s: rows must be sorted by time")
            }
            if let previous, ms == previous.ms {
                notes.append("series line \(number): the same time as line \(previous.line); its count is added to it")
            } else if let previous {
                gaps.append(ms - previous.ms)
            }
            previous = (ms, number)
            rows += 1
            events.append(DetectorEvent(service: "series", timestampMs: ms, level: .info, weight: value))
        }
        guard rows > 0 else { throw BacktestError("series: no rows (an empty file, or a header alone)") }
        gaps.sort()
        return (events, gaps.isEmpty ? nil : gaps[gaps.count / 2], notes)
    }

    public struct Label: Sendable {
        public var service: String
        public var startMs: Int64
        public var endMs: Int64
    }

    /// `service,start,end` lines (RFC 3339 times); `*` as the service matches any.
    public static func labels(_ csv: String) throws -> [Label] {
        try csv.split(whereSeparator: \.isNewline).enumerated().compactMap { number, line in
            let cells = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 3, let start = Timestamps.epochMillis(of: cells[1]), let end = Timestamps.epochMillis(of: cells[2]) else {
                if number == 0 { return nil }
                throw BacktestError("labels line \(number + 1): expected service,start,end, found \(line)")
            }
            return Label(service: cells[0], startMs: start, endMs: end)
        }
    }

    public struct Score: Codable, Sendable, Equatable {
        public var alerts: Int
        public var truePositives: Int
        public var incidents: Int
        public var detected: Int
        public var precision: Double
        public var recall: Double
        public var f1: Double
    }

    /// A firing alert is right when its window overlaps an incident of its service (plus
    /// `graceMs` after the incident, for rules that need the span to fill).
    public static func score(_ alerts: [Alert], labels: [Label], graceMs: Int64 = 600_000) -> Score {
        let firing = alerts.filter { $0.state == "firing" }
        func overlaps(_ alert: Alert, _ label: Label) -> Bool {
            guard label.service == "*" || label.service == alert.service,
                  let start = Timestamps.epochMillis(of: alert.window.start), let end = Timestamps.epochMillis(of: alert.window.end)
            else { return false }
            return start <= label.endMs + graceMs && end >= label.startMs
        }
        let right = firing.filter { alert in labels.contains { overlaps(alert, $0) } }.count
        let detected = labels.filter { label in firing.contains { overlaps($0, label) } }.count
        let precision = firing.isEmpty ? (labels.isEmpty ? 1 : 0) : Double(right) / Double(firing.count)
        let recall = labels.isEmpty ? 1 : Double(detected) / Double(labels.count)
        let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
        return Score(alerts: firing.count, truePositives: right, incidents: labels.count, detected: detected,
                     precision: precision, recall: recall, f1: f1)
    }
}

public struct BacktestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
