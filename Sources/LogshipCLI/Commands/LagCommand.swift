import ArgumentParser
import Foundation
import KafkaClient
import LogshipConfig
import Operations

struct LagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lag",
        abstract: "Consumer lag per group, topic and partition: messages, seconds, owner, status.",
        discussion: helpText("""
        Lag is log end − committed offset (from the log start when the group never committed);
        lag in seconds is the age of the oldest unconsumed message (0 when caught up). Without
        --group: every group the broker lists (or the configured logship groups where it cannot).
        --watch N redraws every N seconds with a Burrow-style status per group, judged over the
        last 10 samples: OK, WARN (falling behind), ERR (a partition in STOP: nobody consuming,
        STALL: consumer alive but not moving, or REWIND: offsets went backwards).
        --fail-above N|DURATION exits 3 when any group's lag is over N messages or DURATION
        (e.g. 30s, 5m): for cron jobs and CI.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(name: .customLong("group"), help: "A consumer group (repeat for several).") var groups: [String] = []
    @Option(help: "Only topics matching this regular expression (e.g. '^logs\\\\.').") var topic: String?
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "Redraw every N seconds, with trend and status.") var watch: Double?
    @Option(help: "Exit 3 when a group's lag is above N messages or a duration (30s, 5m).") var failAbove: String?

    func run() async throws {
        let config = try cluster.load()
        let limit = try failAbove.map(LagLimit.init)
        let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
        let collector = LagCollector(admin: admin)
        let fallback = [config.indexer.group, config.detector.group, config.detector.group + ".judge"]
        var window = SampleWindow<String>(capacity: 10)
        while true {
            var report: LagReport
            do {
                report = try await admin.run { _ in try collector.collect(groups: groups, topicPattern: topic, fallbackGroups: fallback) }
            } catch let error as OperationsError {
                throw CLIError(error.description, status: ExitStatus.usage)
            } catch {
                throw CLIError("cannot read lag from \(config.kafka.brokers.joined(separator: ",")): \(error)")
            }
            // One sample judges little (OK, or STOP when nobody owns the lag); --watch adds a trend.
            report.judge(window: &window)
            if json {
                try printJSON(report)
            } else {
                if watch != nil { print("\u{1B}[H\u{1B}[2J", terminator: "") }
                print(Self.render(report))
            }
            fflush(nil)  // every C stream: a redraw must reach a pipe at once
            if let limit, let over = report.groups.first(where: { limit.exceeded(by: $0) }) {
                throw CLIError("group \(over.name) is over the limit: lag \(over.lag) messages, "
                               + String(format: "%.1f s", over.lagSeconds) + " (limit \(failAbove!))", status: ExitStatus.checkFailed)
            }
            guard let watch else { return }
            try await Task.sleep(for: .milliseconds(Int(watch * 1000)))
        }
    }

    static func render(_ report: LagReport) -> String {
        var out: [String] = report.notes.map { "note: \($0)" }
        if report.groups.isEmpty { out.append("no consumer groups"); return out.joined(separator: "\n") }
        for group in report.groups {
            var head = "group \(group.name) (\(group.state), \(group.members) member\(group.members == 1 ? "" : "s")): lag \(group.lag)"
                + String(format: ", %.1f s", group.lagSeconds)
            if let status = group.status { head += ", status \(status.rawValue)" }
            if let trend = group.trendPerMinute { head += String(format: ", trend %+.0f/min", trend) }
            out.append(head)
            var table = Table("TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "LAG-SECONDS", "STATUS", "OWNER")
            for p in group.partitions {
                table.add(p.topic, String(p.partition), p.committed.map(String.init) ?? "-", String(p.logEnd), String(p.lag),
                          String(format: "%.1f", p.lagSeconds), p.status?.rawValue ?? "-", p.owner ?? "-")
            }
            for t in group.topics {
                table.add(t.topic, "total", "", "", String(t.lag), String(format: "%.1f", t.lagSeconds), "", "")
            }
            out.append(group.partitions.isEmpty ? "  (no commits and no assigned partitions)" : table.render())
            out.append("")
        }
        return out.joined(separator: "\n")
    }
}

/// `--fail-above`: a message count, or a duration for lag in seconds.
struct LagLimit {
    var messages: Int64?
    var seconds: Double?

    init(_ text: String) throws {
        if let count = Int64(text) {
            messages = count
        } else if let ms = DurationText.parseMilliseconds(text) {
            seconds = Double(ms) / 1000
        } else {
            throw CLIError("--fail-above: expected a message count (10000) or a duration (30s, 5m), found \(text)", status: ExitStatus.usage)
        }
    }

    func exceeded(by group: LagReport.Group) -> Bool {
        if let messages, group.lag > messages { return true }
        if let seconds, group.lagSeconds > seconds { return true }
        return false
    }
}
