import ArgumentParser
import ElasticClient
import Foundation
import LogModel
import LogshipConfig
import Operations

/// Colour for terminals only: plain text when piped or when NO_COLOR is set.
enum Paint {
    static let enabled = isatty(STDOUT_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    static func red(_ text: String) -> String { enabled ? "\u{1B}[31m\(text)\u{1B}[0m" : text }
    static func yellow(_ text: String) -> String { enabled ? "\u{1B}[33m\(text)\u{1B}[0m" : text }
    static func bold(_ text: String) -> String { enabled ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    static func level(_ level: String) -> String {
        switch level.uppercased() {
        case "ERROR", "CRITICAL": return red(level)
        case "WARN", "WARNING": return yellow(level)
        default: return level
        }
    }
}

/// Elasticsearch for the investigate commands, its failures reported as one clear line.
func investigate<T>(_ cluster: ClusterOptions, _ body: (ElasticClient) throws -> T) throws -> T {
    let configuration = try cluster.load()
    let es = try ElasticClient(configuration.elasticConfiguration())
    do {
        return try body(es)
    } catch let error as ElasticError {
        throw CLIError("cannot query \(Investigate.index) at \(LogshipConfiguration.redactingCredentials(inURL: configuration.elasticsearch.url)): \(error.message)", status: ExitStatus.failure)
    }
}

func durationOption(_ text: String, _ option: String) throws -> Int64 {
    guard let ms = DurationText.parseMilliseconds(text), ms > 0 else {
        throw CLIError("\(option): expected a duration like 15m, 1h or 2d, found \(text)", status: ExitStatus.usage)
    }
    return Int64(ms)
}

func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "The error-rate board: events, errors and error % per service, worst first.",
        discussion: helpText("""
        Over the last --since (default 1h) against the period of the same length before it.
        CHANGE is the relative change of the error percentage (+100% = doubled; "new" when the
        previous period had no errors). The sparkline shows errors over the period in 12 slices.
        --json rows: service, events, errors, error_pct, change_pct (null when new),
        previous_events, previous_errors, previous_error_pct, sparkline.
        """)
    )
    @OptionGroup var cluster: ClusterOptions
    @Option(help: "The period (e.g. 15m, 1h, 1d).") var since: String = "1h"
    @Option(help: "Only this service.") var service: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let period = try durationOption(since, "--since")
        let rows = try investigate(cluster) { try Investigate.errors($0, periodMs: period, nowMs: nowMs(), service: service) }
        if json { return try printJSON(rows) }
        guard !rows.isEmpty else {
            print("no events in \(Investigate.index) in the last \(since)\(service.map { " for service \($0)" } ?? "")")
            return
        }
        var table = Table("SERVICE", "EVENTS", "ERRORS", "ERROR %", "CHANGE", "ERRORS OVER \(since)")
        for row in rows {
            let change = row.changePct.map { String(format: "%+.0f%%", $0) } ?? "new"
            let pct = String(format: "%.2f", row.errorPct)
            table.add(row.service, String(row.events), String(row.errors), row.errorPct >= 5 ? Paint.red(pct) : pct,
                      (row.changePct ?? 1) > 0 && row.errors > 0 ? Paint.red(change) : change, Investigate.sparkline(row.sparkline))
        }
        print(table.render())
    }
}

struct SlowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slow",
        abstract: "Slow requests grouped by url.path and status: count, p50, p95, max.",
        discussion: helpText("""
        Requests whose event.duration is at least --min-duration, over the last --since. Groups
        that fail (status ≥ 500) come first, then the most frequent. Percentiles come from
        Elasticsearch's percentiles aggregation, or, where the cluster lacks it, are computed
        here exactly (nearest rank) from the matching documents (at most 200,000).
        --json rows: path, status, count, p50_ms, p95_ms, max_ms.
        """)
    )
    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Slowest first from this duration (e.g. 500ms, 1s).") var minDuration: String = "1s"
    @Option(help: "The period (e.g. 15m, 1h).") var since: String = "1h"
    @Option(help: "Only this service.") var service: String?
    @Option(help: "Groups to show.") var top: Int = 20
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let period = try durationOption(since, "--since"), minimum = try durationOption(minDuration, "--min-duration")
        let now = nowMs()
        let rows = try investigate(cluster) {
            try Investigate.slow($0, minDurationMs: Double(minimum), fromMs: now - period, toMs: now, service: service, top: max(top, 1))
        }
        if json { return try printJSON(rows) }
        guard !rows.isEmpty else {
            print("no request of \(minDuration) or more in the last \(since)\(service.map { " for service \($0)" } ?? "")")
            return
        }
        var table = Table("PATH", "STATUS", "COUNT", "P50 MS", "P95 MS", "MAX MS")
        for row in rows {
            let status = row.status.map(String.init) ?? "-"
            table.add(row.path, (row.status ?? 0) >= 500 ? Paint.red(status) : status, String(row.count),
                      String(format: "%.0f", row.p50Ms), String(format: "%.0f", row.p95Ms), String(format: "%.0f", row.maxMs))
        }
        print(table.render())
    }
}

struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Every event of one trace across services, in time order, with a span waterfall.",
        discussion: helpText("""
        Prints each event (time, service, span, level, duration, message), then one waterfall bar
        per span (from its earliest start — an event's time less its duration — to its latest
        event), then the stack traces of the trace's errors. Exit 1 when no event has the trace
        id. --json prints the events as stored.
        """)
    )
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "The trace id (trace.id).") var traceID: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let events = try investigate(cluster) { try Investigate.trace($0, id: traceID) }
        if json { return try printJSON(events) }
        guard !events.isEmpty else { throw CLIError("no event with trace.id \(traceID) in \(Investigate.index)", status: ExitStatus.failure) }
        print(Self.render(traceID, events))
    }

    static func render(_ traceID: String, _ events: [JSONValue]) -> String {
        struct Span { var service: String; var id: String; var startMs: Int64; var endMs: Int64; var failed: Bool }
        var spans: [Span] = []
        var table = Table("TIME", "SERVICE", "SPAN", "LEVEL", "DURATION", "MESSAGE")
        var stacks: [String] = []
        for event in events {
            let time = event["@timestamp"]?.string ?? ""
            let at = Timestamps.epochMillis(of: time) ?? 0
            let service = event[path: "service.name"]?.string ?? "-"
            let span = event[path: "span.id"]?.string ?? "-"
            let level = event[path: "log.level"]?.string ?? "-"
            let durationMs = event[path: "event.duration"]?.double.map { Int64($0 / 1e6) }
            let message = (event["message"]?.string ?? "").split(separator: "\n").first.map(String.init) ?? ""
            table.add(time, service, span, Paint.level(level), durationMs.map { "\($0) ms" } ?? "", String(message.prefix(120)))
            let failed = ["ERROR", "CRITICAL"].contains(level.uppercased())
            if let index = spans.firstIndex(where: { $0.id == span && $0.service == service }) {
                spans[index].startMs = min(spans[index].startMs, at - (durationMs ?? 0))
                spans[index].endMs = max(spans[index].endMs, at)
                spans[index].failed = spans[index].failed || failed
            } else {
                spans.append(Span(service: service, id: span, startMs: at - (durationMs ?? 0), endMs: at, failed: failed))
            }
            if let stack = event[path: "error.stack_trace"]?.string {
                stacks.append(Paint.bold("\(service) \(time) \(event[path: "error.type"]?.string ?? "error"): \(event[path: "error.message"]?.string ?? message)")
                              + "\n" + stack)
            }
        }
        let start = spans.map(\.startMs).min() ?? 0, end = max(spans.map(\.endMs).max() ?? 0, start + 1)
        let services = Set(spans.map(\.service)).count
        var out = [Paint.bold("trace \(traceID): \(events.count) events, \(services) services, \(end - start) ms"), table.render(), "", "waterfall:"]
        let width = 40
        let label = spans.map { "\($0.service) \($0.id)".count }.max() ?? 0
        for span in spans.sorted(by: { ($0.startMs, $0.endMs) < ($1.startMs, $1.endMs) }) {
            let from = Int(Double(span.startMs - start) / Double(end - start) * Double(width))
            let to = max(Int((Double(span.endMs - start) / Double(end - start) * Double(width)).rounded(.up)), from + 1)
            let bar = String(repeating: " ", count: from) + String(repeating: "█", count: min(to, width) - from)
            let name = "\(span.service) \(span.id)".padding(toLength: label, withPad: " ", startingAt: 0)
            out.append("  \(name) |\((span.failed ? Paint.red(bar) : bar) + String(repeating: " ", count: max(width - min(to, width), 0)))| \(span.endMs - span.startMs) ms")
        }
        if !stacks.isEmpty { out += ["", "errors:"] + stacks }
        return out.joined(separator: "\n")
    }
}

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Query-string search across logs-*; --follow keeps printing new matches.",
        discussion: helpText("""
        QUERY is Elasticsearch query-string syntax over the message by default
        ('timeout AND url.path:"/api/pay"'); --service, --level and --since narrow it. Prints the
        newest --limit matches oldest first; --follow then polls every second for new ones, like
        tail -f (Ctrl-C stops). --json prints the events as stored (with --follow, one per line).
        """)
    )
    @OptionGroup var cluster: ClusterOptions
    @Argument(help: "Query string (default: everything).") var query: String?
    @Option(help: "Only this service.") var service: String?
    @Option(help: "Only this level (ERROR, WARN, …).") var level: String?
    @Option(help: "Only events of this last period (e.g. 15m, 1h).") var since: String?
    @Option(help: "Matches to print.") var limit: Int = 50
    @Flag(help: "Keep printing new matches.") var follow = false
    @Option(help: "Seconds between polls with --follow.") var interval: Double = 1
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let fromMs = try since.map { nowMs() - (try durationOption($0, "--since")) }
        var filter = Investigate.SearchFilter(query: query, service: service, level: level, fromMs: fromMs)
        let hits = try investigate(cluster) { try Investigate.search($0, filter, limit: max(limit, 1)) }
        if json && !follow { return try printJSON(hits.map(\.source)) }
        if hits.isEmpty && !follow { print("no event matches in \(Investigate.index)"); return }
        hits.forEach(printHit)
        guard follow else { return }
        // From the newest time seen on; ids already printed at that time are not printed again.
        var lastMs = hits.compactMap { $0.source["@timestamp"]?.string.flatMap(Timestamps.epochMillis(of:)) }.max() ?? fromMs ?? nowMs()
        var printed = Set(hits.map(\.id))
        while true {
            fflush(nil)
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            filter.fromMs = lastMs
            let fresh = try investigate(cluster) { try Investigate.search($0, filter, limit: 1_000) }.filter { !printed.contains($0.id) }
            for hit in fresh {
                printHit(hit)
                printed.insert(hit.id)
                lastMs = max(lastMs, hit.source["@timestamp"]?.string.flatMap(Timestamps.epochMillis(of:)) ?? lastMs)
            }
            if printed.count > 100_000 { printed = Set(fresh.map(\.id)) }
        }
    }

    func printHit(_ hit: Investigate.Hit) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: (try? encoder.encode(hit.source)) ?? Data(), as: UTF8.self))
            return
        }
        let source = hit.source
        let level = source[path: "log.level"]?.string ?? "-"
        let trace = source[path: "trace.id"]?.string.map { " trace=\($0)" } ?? ""
        print("\(source["@timestamp"]?.string ?? "") \(source[path: "service.name"]?.string ?? "-") \(Paint.level(level)) \(source["message"]?.string ?? "")\(trace)")
    }
}
