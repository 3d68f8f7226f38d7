import Agent
import ArgumentParser
import Foundation
import LogModel
import Operations
import Patterns

struct PatternsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patterns",
        abstract: "Mine log templates: which messages a file holds, as templates with their variable parts.",
        discussion: helpText("""
        --file FILE reads each record as the agent would (multiline joined, masked, parsed: the
        same pipeline as `logship parse`, same options) and mines the messages into templates
        (`Receiving block <*> src: <*> dest: <*>`): numbers, hex ids, IPs, UUIDs, paths and quoted
        values are variables, and templates merge as more variables are seen. No per-format
        configuration. Prints each template with its id (a hash of the template: the same on
        every host), count, share, first and last seen, one example and its trace id, most
        frequent first (--top N). --assign prints every record's template id and template
        instead (tab-separated; with --json one object per line). --json prints JSON.
        Without --file it reads Elasticsearch (logs-*): the messages of --service (and --level)
        in the last --since (1h; ending --until, default now) and in the --baseline period before
        it (24h), at most
        --max-messages each (above that, a sample spread over the period, its rate shown), mines
        both, and adds each template's change against the baseline, rates compared per unit of
        time: `new` (not in the baseline), `+250 %`, `-40 %`, `=`. Progress on stderr.
        bench: `logship patterns bench` measures mining speed on one core.
        """),
        subcommands: [Mine.self, Bench.self], defaultSubcommand: Mine.self
    )

    struct Mine: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mine", abstract: "Mine a file's messages into templates (the default).")
        @OptionGroup var cluster: ClusterOptions
        @Option(help: "Mine this log file instead of Elasticsearch.") var file: String?
        @Option(help: "The service: with --file, the agent input whose settings apply; else the service whose events are read.")
        var service: String?
        @Option(help: "Only events of this level (ERROR, WARN, …), from Elasticsearch.") var level: String?
        @Option(help: "The period to mine, the last one of this length (e.g. 15m, 1h).") var since: String = "1h"
        @Option(help: "The period before it to compare with (e.g. 24h; 0 for none).") var baseline: String = "24h"
        @Option(help: "End of the period (ISO 8601, e.g. 2026-12-06T10:00:00Z; default: now).") var until: String?
        @Option(help: "Most messages read per period; above it a sample spread over the period (rate shown).")
        var maxMessages: Int = 100_000
        @Option(help: "The format to read FILE in (default: the input's, else auto).") var format: String?
        @Option(help: "Templates to print, most frequent first.") var top: Int = 20
        @Flag(help: "Print every record's template id and template instead of the summary.") var assign = false
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            let id: String, template: String, count: Int, share: Double
            let firstSeen: String?, lastSeen: String?, example: String, traceID: String?
            /// Against the baseline period (Elasticsearch mode): `new`, `+250 %`, `-40 %`, `=`.
            var change: String?
            var baselineCount: Int?
            enum CodingKeys: String, CodingKey {
                case id, template, count, share, example, change
                case firstSeen = "first_seen", lastSeen = "last_seen", traceID = "trace_id", baselineCount = "baseline_count"
            }
        }

        /// First and last time, and an example (one with a trace id, when there is one), per template.
        struct Seen {
            var first: String?
            var last: String?
            var example: String
            var trace: String?

            /// Adds `other`'s times, and its example when this one has no trace.
            mutating func absorb(_ other: Seen) {
                if let time = other.first { first = min(first ?? time, time) }
                if let time = other.last { last = max(last ?? time, time) }
                if trace == nil, other.trace != nil { trace = other.trace; example = other.example }
            }

            /// One record of template `id`.
            static func note(_ seen: inout [String: Seen], id: String, time: String?, example: String, trace: String?) {
                let record = Seen(first: time, last: time, example: example, trace: trace)
                if seen[id] == nil { seen[id] = record } else { seen[id]!.absorb(record) }
            }

            /// What was recorded under ids since generalised, folded into their templates.
            static func fold(_ seen: [String: Seen], _ miner: TemplateMiner) -> [String: Seen] {
                var merged: [String: Seen] = [:]
                for (id, entry) in seen {
                    let current = miner.resolve(id)
                    if merged[current] == nil { merged[current] = entry } else { merged[current]!.absorb(entry) }
                }
                return merged
            }
        }

        func run() async throws {
            guard top >= 1 else { throw ValidationError("--top must be at least 1") }
            guard maxMessages >= 1 else { throw ValidationError("--max-messages must be at least 1") }
            guard let file else { return try await mineElasticsearch() }
            let config = try cluster.load()
            let miner = TemplateMiner()
            var seen: [String: Seen] = [:]
            var assigned: [(id: String, message: String)] = []
            var records = 0
            var out = [UInt8]()
            _ = try AgentPreview.run(configuration: config, service: service, path: file, overrides: .init(format: format)) { _, event in
                guard let object = try? JSONSerialization.jsonObject(with: Data(event)) as? [String: Any] else { return }
                let error = object["error"] as? [String: Any]
                let message = TemplateMiner.text(message: object["message"] as? String ?? "", errorType: error?["type"] as? String,
                                                 errorMessage: error?["message"] as? String)
                let time = object["@timestamp"] as? String
                let trace = (object["trace"] as? [String: Any])?["id"] as? String
                let template = miner.add(message)
                records += 1
                if assign {
                    assigned.append((template.id, message))
                } else {
                    // A template's id changes as it generalises: its record moves with it below.
                    Seen.note(&seen, id: template.id, time: time, example: message, trace: trace)
                }
                if records % 100_000 == 0 { FileHandle.standardError.write(Data("patterns: \(records) records mined\n".utf8)) }
            }
            if assign {
                // Ids as they stand at the end (a template generalised later keeps its records).
                let texts = Dictionary(miner.all.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
                for (id, message) in assigned {
                    let current = miner.resolve(id)
                    if json {
                        let line: [String: String] = ["id": current, "template": texts[current] ?? "", "message": message]
                        out.append(contentsOf: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]))
                        out.append(0x0A)
                    } else {
                        out.append(contentsOf: "\(current)\t\(texts[current] ?? "")\n".utf8)
                    }
                    if out.count >= 1 << 16 { FileHandle.standardOutput.write(Data(out)); out.removeAll(keepingCapacity: true) }
                }
                FileHandle.standardOutput.write(Data(out))
                return
            }
            let merged = Seen.fold(seen, miner)
            var counts: [String: (text: String, count: Int)] = [:]
            for template in miner.all { counts[template.id, default: (template.text, 0)].count += template.count }
            let rows = counts.sorted { ($0.value.count, $1.key) > ($1.value.count, $0.key) }.prefix(top).map { id, value in
                Row(id: id, template: value.text, count: value.count, share: records == 0 ? 0 : Double(value.count) / Double(records),
                    firstSeen: merged[id]?.first, lastSeen: merged[id]?.last, example: merged[id]?.example ?? "", traceID: merged[id]?.trace)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                struct Summary: Encodable { let records: Int; let templates: Int; let patterns: [Row] }
                print(String(decoding: try encoder.encode(Summary(records: records, templates: counts.count, patterns: Array(rows))), as: UTF8.self))
                return
            }
            print("\(records) records, \(counts.count) templates")
            for row in rows {
                print(String(format: "%@  %7d  %5.1f %%  %@", row.id, row.count, row.share * 100, row.template))
                print("    seen \(row.firstSeen ?? "-") .. \(row.lastSeen ?? "-")  e.g. \(row.example.prefix(160))\(row.traceID.map { "  trace \($0)" } ?? "")")
            }
        }

        /// The period from Elasticsearch against the one before it.
        func mineElasticsearch() async throws {
            let now: Int64
            if let until {
                guard let ms = Timestamps.epochMillis(of: until) else { throw ValidationError("--until \(until): not an ISO 8601 time") }
                now = ms
            } else {
                now = nowMs()
            }
            let periodMs = try durationOption(since, "--since")
            let baselineMs = baseline == "0" ? 0 : try durationOption(baseline, "--baseline")
            let progress: (String) -> (Int) -> Void = { what in { read in
                FileHandle.standardError.write(Data("patterns: \(read) messages of the \(what) read\n".utf8))
            } }
            let (current, base) = try investigate(cluster) { es in
                let base = baselineMs == 0 ? nil : try Investigate.messages(es, service: service, level: level, fromMs: now - periodMs - baselineMs,
                                                                           toMs: now - periodMs, limit: maxMessages, progress: progress("baseline"))
                let current = try Investigate.messages(es, service: service, level: level, fromMs: now - periodMs, toMs: now,
                                                       limit: maxMessages, progress: progress("period"))
                return (current, base)
            }
            let miner = TemplateMiner()
            // The baseline first: its templates are what "new" is measured against.
            func text(_ message: Investigate.Message) -> String {
                TemplateMiner.text(message: message.message, errorType: message.errorType, errorMessage: message.errorMessage)
            }
            let baselineIDs = (base?.messages ?? []).map { miner.add(text($0)).id }
            var seen: [String: Seen] = [:]
            for message in current.messages {
                let line = text(message)
                Seen.note(&seen, id: miner.add(line).id, time: Timestamps.format(epochMillis: message.timeMs), example: line, trace: message.traceID)
            }
            var counts: [String: Int] = [:], baselineCounts: [String: Int] = [:]
            for id in baselineIDs { baselineCounts[miner.resolve(id), default: 0] += 1 }
            let merged = Seen.fold(seen, miner)
            // Counts per template of the period: the miner's counts include the baseline's.
            let texts = Dictionary(miner.all.map { ($0.id, $0.text) }, uniquingKeysWith: { a, _ in a })
            for template in miner.all { counts[template.id, default: 0] += template.count }
            for (id, n) in baselineCounts { counts[id, default: 0] -= n }
            let total = current.messages.count
            let rows = counts.filter { $0.value > 0 }.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(top).map { id, count in
                var row = Row(id: id, template: texts[id] ?? "", count: count, share: total == 0 ? 0 : Double(count) / Double(total),
                              firstSeen: merged[id]?.first, lastSeen: merged[id]?.last, example: merged[id]?.example ?? "", traceID: merged[id]?.trace)
                if let base, baselineMs > 0 {
                    let before = baselineCounts[id] ?? 0
                    row.baselineCount = before
                    // Rates per millisecond, each period's sample scaled up to what matched.
                    let now = Double(count) / current.sampleRate / Double(periodMs)
                    let then = Double(before) / max(base.sampleRate, 1e-9) / Double(baselineMs)
                    row.change = before == 0 ? "new" : Self.change(now: now, then: then)
                }
                return row
            }
            if json {
                struct Summary: Encodable {
                    let records: Int, matching: Int, sampleRate: Double, baselineRecords: Int?, templates: Int, patterns: [Row]
                    enum CodingKeys: String, CodingKey {
                        case records, matching, templates, patterns
                        case sampleRate = "sample_rate", baselineRecords = "baseline_records"
                    }
                }
                return try printJSON(Summary(records: total, matching: current.matching, sampleRate: current.sampleRate,
                                             baselineRecords: base?.messages.count, templates: counts.filter { $0.value > 0 }.count, patterns: Array(rows)))
            }
            let sample = current.sampleRate < 1 ? String(format: " (a sample: %.1f %% of %d)", current.sampleRate * 100, current.matching) : ""
            print("\(total) messages in the last \(since)\(sample)\(base.map { ", \($0.messages.count) in the \(baseline) before" } ?? ""), \(counts.filter { $0.value > 0 }.count) templates")
            for row in rows {
                let change = String(repeating: " ", count: max(0, 8 - (row.change ?? "").count)) + (row.change ?? "")
                print(String(format: "%@  %7d  %5.1f %%  ", row.id, row.count, row.share * 100) + change + "  " + row.template)
                print("    seen \(row.firstSeen ?? "-") .. \(row.lastSeen ?? "-")  e.g. \(row.example.prefix(160))\(row.traceID.map { "  trace \($0)" } ?? "")")
            }
        }

        static func change(now: Double, then: Double) -> String {
            let percent = (now / then - 1) * 100
            if abs(percent) < 0.5 { return "=" }
            return String(format: "%@%.0f %%", percent > 0 ? "+" : "", percent)
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure mining speed (messages/s) on generated messages of 40 templates.")
        @Option(help: "Messages to mine.") var messages: Int = 1_000_000

        func run() async throws {
            // 40 shapes that differ in words (digits would be masked away): 8 components × 5 outcomes.
            let components = ["billing", "checkout", "inventory", "search", "shipping", "auth", "gateway", "ledger"]
            let outcomes = ["finished", "failed with timeout", "retried after backoff", "was cancelled by client", "returned partial results"]
            let shapes = (0..<40).map { "\(components[$0 % 8]) step \(outcomes[$0 / 8])" }
            var corpus: [String] = []
            corpus.reserveCapacity(min(messages, 200_000))
            var state: UInt64 = 42
            for i in 0..<min(messages, 200_000) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let shape = Int(state >> 33) % 40
                corpus.append("request \(i) for user u\(state % 10_000) took \(state % 5_000) ms: \(shapes[shape]) on host-\(shape % 5) path /api/v1/items/\(i % 977) trace=\(String(state, radix: 16))")
            }
            let miner = TemplateMiner()
            let started = ContinuousClock.now
            for i in 0..<messages { miner.add(corpus[i % corpus.count]) }
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(String(format: "%d messages in %.3f s: %.0f messages/s, %d templates", messages, seconds, Double(messages) / seconds, miner.all.count))
        }
    }
}
