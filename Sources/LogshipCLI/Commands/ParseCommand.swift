import Agent
import ArgumentParser
import Foundation

struct ParseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Show the events the agent would ship for a log file, without sending anything.",
        discussion: """
        Runs an agent input's whole pipeline (multiline, masking, parsing, DEBUG policy,
        enrichment) over FILE and prints one JSON event per line, as it would be produced to
        logs.<service>. Use it to check a python_format, a multiline rule or a mask pattern.
        --count prints only the counters (lines, events, drops, masked secrets, CPU time).
        --keys puts each event's Kafka key before it (KEY, a tab, EVENT: what `kcat -P -K '\t'`
        reads), so the exact messages can be shipped by another producer (bench/agent.sh does).
        """
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "The agent input (service) whose settings apply (default: the input whose paths match FILE).")
    var service: String?
    @Flag(help: "Print only the counters, not the events.") var count = false
    @Flag(help: "Print each event's Kafka key and a tab before it.") var keys = false
    @Flag(help: "Print the counters as JSON.") var json = false
    @Argument(help: "The log file to read.") var file: String

    func run() async throws {
        let config = try cluster.load()
        let started = clock()
        var out = [UInt8]()
        let counters: AgentStats.Counters
        do {
            counters = try AgentPreview.run(configuration: config, service: service, path: file) { key, event in
                guard !count else { return }
                if keys {
                    out.append(contentsOf: key.utf8)
                    out.append(9)
                }
                out.append(contentsOf: event)
                out.append(10)
                if out.count >= 1 << 16 { FileHandle.standardOutput.write(Data(out)); out.removeAll(keepingCapacity: true) }
            }
        } catch let error as AgentError {
            throw CLIError(error.description, status: ExitStatus.usage)
        }
        FileHandle.standardOutput.write(Data(out))
        let cpuSeconds = Double(clock() - started) / Double(CLOCKS_PER_SEC)
        if json {
            try printJSON(ParseSummary(counters: counters, cpuSeconds: cpuSeconds))
        } else if count {
            print("lines \(counters.linesRead), events \(counters.eventsSent), dropped debug \(counters.droppedDebug), "
                  + "dropped empty \(counters.droppedEmpty), secrets masked \(counters.secretsMasked), "
                  + "invalid UTF-8 \(counters.invalidUTF8Lines), truncated \(counters.truncatedLines), "
                  + String(format: "CPU %.2f s (%.2f µs/line)", cpuSeconds, cpuSeconds * 1e6 / Double(max(counters.linesRead, 1))))
        }
    }

    struct ParseSummary: Encodable {
        var counters: AgentStats.Counters
        var cpuSeconds: Double
        enum CodingKeys: String, CodingKey { case counters, cpuSeconds = "cpu_seconds" }
    }
}
