import Agent
import ArgumentParser
import Foundation

struct ParseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Show the events the agent would ship for a log file, without sending anything.",
        discussion: helpText("""
        Runs an agent input's whole pipeline (multiline, masking, parsing, DEBUG policy,
        enrichment) over FILE and prints one JSON event per line, as it would be produced to
        logs.<service>. No configuration is needed: without one (or when no input's paths match
        FILE) the defaults apply — format auto, the host's time zone, the file's name as service
        — so `logship parse /var/log/syslog | head` is a first look at any file.
        --format and --timezone override the input's (formats: auto, json, python, plain,
        syslog, nginx, apache, java, logfmt, klog, cri, docker).
        --explain prints, instead of events, every secret a masking rule replaced: the record's
        offset, the rule's name and the masked text around it (the secret itself is never shown),
        then the count per rule.
        --count prints only the counters (lines, events, drops, masked secrets, unparsed records,
        future timestamps, CPU time).
        --keys puts each event's Kafka key before it (KEY, a tab, EVENT: what `kcat -P -K '\\t'`
        reads), so the exact messages can be shipped by another producer (bench/agent.sh does).
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "The agent input (service) whose settings apply (default: the input whose paths match FILE, else the defaults).")
    var service: String?
    @Option(help: "The format to read FILE in (default: the input's, else auto).") var format: String?
    @Option(help: "The zone of timestamps written without one: an IANA name, UTC, local or +08:00 (default: the input's, else local).")
    var timezone: String?
    @Flag(help: "Print which masking rule replaced what, instead of the events.") var explain = false
    @Flag(help: "Print only the counters, not the events.") var count = false
    @Flag(help: "Print each event's Kafka key and a tab before it.") var keys = false
    @Flag(help: "Print the counters (and with --explain the matches) as JSON.") var json = false
    @Argument(help: "The log file to read.") var file: String

    func run() async throws {
        let config = try cluster.load()
        let started = clock()
        var out = [UInt8]()
        func flushIfFull() {
            if out.count >= 1 << 16 { FileHandle.standardOutput.write(Data(out)); out.removeAll(keepingCapacity: true) }
        }
        var perRule: [String: Int] = [:]
        var explanations: [Explanation] = []
        let explainSink: ((Record, [SecretMasker.Match], [UInt8]) -> Void)? = !explain ? nil : { record, matches, masked in
            for match in matches {
                perRule[match.rule, default: 0] += 1
                let context = Self.context(masked, around: match.outputStart)
                if json {
                    explanations.append(Explanation(offset: record.offset, rule: match.rule, length: match.end - match.start, context: context))
                } else {
                    out.append(contentsOf: "offset \(record.offset): \(match.rule) masked \(match.end - match.start) bytes: \(context)\n".utf8)
                    flushIfFull()
                }
            }
        }
        let counters: AgentStats.Counters
        // Read once: a flag's wrapped value costs hundreds of instructions a read, and `--count`
        // is how the pipeline's instructions per line are measured (bench/agent.sh).
        let printEvents = !count && !explain, printKeys = keys
        do {
            counters = try AgentPreview.run(configuration: config, service: service, path: file,
                                            overrides: .init(format: format, timezone: timezone), explain: explainSink) { key, event in
                guard printEvents else { return }
                if printKeys {
                    out.append(contentsOf: key)
                    out.append(9)
                }
                out.append(contentsOf: event)
                out.append(10)
                flushIfFull()
            }
        } catch let error as AgentError {
            throw CLIError(error.description, status: ExitStatus.usage)
        } catch let error as SecretMasker.MaskRuleError {
            throw CLIError(error.description, status: ExitStatus.usage)
        }
        FileHandle.standardOutput.write(Data(out))
        let cpuSeconds = Double(clock() - started) / Double(CLOCKS_PER_SEC)
        if explain {
            if json {
                try printJSON(ExplainSummary(matches: explanations, rules: perRule, counters: counters))
            } else {
                let summary = perRule.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                print("masked \(counters.secretsMasked) in \(counters.linesRead) lines" + (summary.isEmpty ? "" : ": \(summary)"))
            }
        } else if json {
            try printJSON(ParseSummary(counters: counters, cpuSeconds: cpuSeconds))
        } else if count {
            print("lines \(counters.linesRead), events \(counters.eventsSent), dropped debug \(counters.droppedDebug), "
                  + "dropped empty \(counters.droppedEmpty), secrets masked \(counters.secretsMasked), "
                  + "unparsed \(counters.unparsedRecords), future timestamps \(counters.futureTimestamps), "
                  + "invalid UTF-8 \(counters.invalidUTF8Lines), truncated \(counters.truncatedLines), "
                  + String(format: "CPU %.2f s (%.2f µs/line)", cpuSeconds, cpuSeconds * 1e6 / Double(max(counters.linesRead, 1))))
        }
    }

    /// Up to 40 bytes of the masked record either side of a marker, on one line.
    static func context(_ masked: [UInt8], around position: Int) -> String {
        let start = max(0, position - 40), end = min(masked.count, position + SecretMasker.marker.utf8.count + 40)
        let text = String(decoding: masked[start..<end], as: UTF8.self).replacingOccurrences(of: "\n", with: "\\n")
        return (start > 0 ? "…" : "") + text + (end < masked.count ? "…" : "")
    }

    struct Explanation: Encodable {
        var offset: Int64
        var rule: String
        var length: Int
        var context: String
    }

    struct ExplainSummary: Encodable {
        var matches: [Explanation]
        var rules: [String: Int]
        var counters: AgentStats.Counters
    }

    struct ParseSummary: Encodable {
        var counters: AgentStats.Counters
        var cpuSeconds: Double
        enum CodingKeys: String, CodingKey { case counters, cpuSeconds = "cpu_seconds" }
    }
}
