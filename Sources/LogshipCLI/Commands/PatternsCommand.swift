import Agent
import ArgumentParser
import Foundation
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
        bench: `logship patterns bench` measures mining speed on one core.
        (Reading a period from Elasticsearch, --service/--since/--baseline, is not built yet.)
        """),
        subcommands: [Mine.self, Bench.self], defaultSubcommand: Mine.self
    )

    struct Mine: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mine", abstract: "Mine a file's messages into templates (the default).")
        @OptionGroup var cluster: ClusterOptions
        @Option(help: "The log file to mine.") var file: String
        @Option(help: "The agent input (service) whose settings apply (default: the input whose paths match FILE, else the defaults).")
        var service: String?
        @Option(help: "The format to read FILE in (default: the input's, else auto).") var format: String?
        @Option(help: "Templates to print, most frequent first.") var top: Int = 20
        @Flag(help: "Print every record's template id and template instead of the summary.") var assign = false
        @Flag(help: "Print JSON.") var json = false

        struct Row: Encodable {
            let id: String, template: String, count: Int, share: Double
            let firstSeen: String?, lastSeen: String?, example: String, traceID: String?
            enum CodingKeys: String, CodingKey {
                case id, template, count, share, example
                case firstSeen = "first_seen", lastSeen = "last_seen", traceID = "trace_id"
            }
        }

        struct Seen {
            var first: String?
            var last: String?
            var example: String
            var trace: String?
        }

        func run() async throws {
            guard top >= 1 else { throw ValidationError("--top must be at least 1") }
            let config = try cluster.load()
            let miner = TemplateMiner()
            var seen: [String: Seen] = [:]
            var assigned: [(id: String, message: String)] = []
            var records = 0
            var out = [UInt8]()
            _ = try AgentPreview.run(configuration: config, service: service, path: file, overrides: .init(format: format)) { _, event in
                guard let object = try? JSONSerialization.jsonObject(with: Data(event)) as? [String: Any] else { return }
                let message = object["message"] as? String ?? ""
                let time = object["@timestamp"] as? String
                let trace = (object["trace"] as? [String: Any])?["id"] as? String
                let template = miner.add(message)
                records += 1
                if assign {
                    assigned.append((template.id, message))
                } else if var entry = seen[template.id] {
                    if let time { entry.first = min(entry.first ?? time, time); entry.last = max(entry.last ?? time, time) }
                    if entry.trace == nil, let trace { entry.trace = trace; entry.example = message }
                    seen[template.id] = entry
                } else {
                    // A template's id changes as it generalises: its record moves with it below.
                    seen[template.id] = Seen(first: time, last: time, example: message, trace: trace)
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
            // Fold what was recorded under ids since generalised into their templates.
            var merged: [String: Seen] = [:]
            for (id, entry) in seen {
                let current = miner.resolve(id)
                guard var into = merged[current] else { merged[current] = entry; continue }
                if let first = entry.first { into.first = min(into.first ?? first, first) }
                if let last = entry.last { into.last = max(into.last ?? last, last) }
                if into.trace == nil, entry.trace != nil { into.trace = entry.trace; into.example = entry.example }
                merged[current] = into
            }
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
