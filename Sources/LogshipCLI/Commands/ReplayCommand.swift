import ArgumentParser
import Foundation
import KafkaClient
import LogModel
import LogshipConfig
import Operations

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Move a consumer group's offsets to re-read (or skip) messages. Dry run unless --execute.",
        discussion: helpText("""
        Give exactly one target. The dry run prints, per partition, current → new offset and how
        many messages will be read again. --execute commits the new offsets; it refuses while the
        group has active members (stop the indexers or the detector first) and exits 0 only once
        the broker holds the new offsets. Documents re-read by the indexer get the same ids, so
        replaying into existing indices creates no duplicates.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "The consumer group (e.g. logship-indexer).") var group: String
    @Option(help: "Topics, as a regular expression (e.g. '^logs\\\\.payment$').") var topic: String
    @Option(help: "The first message at or after this time (2026-11-25T10:00:00Z or '2026-11-25 10:00:00').") var toDatetime: String?
    @Option(help: "Go back this long from now (30m, 2h, 1d).") var byDuration: String?
    @Flag(help: "To the log start.") var toEarliest = false
    @Flag(help: "To the log end (skip everything unread).") var toLatest = false
    @Option(help: "Move by N messages; negative re-reads (write it --shift-by=-100).") var shiftBy: Int64?
    @Option(help: "To this offset in every partition.") var toOffset: Int64?
    @Flag(help: "Commit the new offsets (default: only show them).") var execute = false
    @Flag(help: "Print JSON.") var json = false

    func target() throws -> ResetTarget {
        var targets: [ResetTarget] = []
        if let toDatetime {
            guard let ms = Timestamps.epochMillis(of: toDatetime) else {
                throw CLIError("--to-datetime: expected a time like 2026-11-25T10:00:00Z, found \(toDatetime)", status: ExitStatus.usage)
            }
            targets.append(.datetime(ms))
        }
        if let byDuration {
            guard let ms = DurationText.parseMilliseconds(byDuration) else {
                throw CLIError("--by-duration: expected a duration like 30m or 2h, found \(byDuration)", status: ExitStatus.usage)
            }
            targets.append(.duration(Int64(ms)))
        }
        if toEarliest { targets.append(.earliest) }
        if toLatest { targets.append(.latest) }
        if let shiftBy { targets.append(.shift(shiftBy)) }
        if let toOffset { targets.append(.offset(toOffset)) }
        guard targets.count == 1 else {
            throw CLIError("give exactly one of --to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, --to-offset"
                           + (targets.isEmpty ? "" : " (found \(targets.count))"), status: ExitStatus.usage)
        }
        return targets[0]
    }

    func run() async throws {
        let config = try cluster.load()
        let target = try target()
        let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
        let reset = OffsetReset(admin: admin)
        let (group, topic, execute) = (group, topic, execute)
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let plan: ResetPlan
        do {
            plan = try await admin.run { _ in try reset.plan(group: group, topicPattern: topic, target: target, nowMs: nowMs) }
        } catch let error as OperationsError {
            throw CLIError(error.description, status: ExitStatus.usage)
        }
        if json {
            if !execute { try printJSON(ReplayOutput(group: plan.group, executed: false, reRead: plan.reRead, skipped: plan.skipped, partitions: plan.entries)) }
        } else {
            var table = Table("TOPIC", "PARTITION", "CURRENT", "NEW", "RE-READ")
            for e in plan.entries {
                table.add(e.topic, String(e.partition), e.current.map(String.init) ?? "-", String(e.target), String(e.reRead))
            }
            print(table.render())
            print("group \(plan.group): \(plan.reRead) messages to read again, \(plan.skipped) to skip")
        }
        guard execute else {
            if !json { print("dry run: nothing changed; add --execute to commit these offsets") }
            return
        }
        do {
            try await admin.run { _ in try reset.execute(plan) }
        } catch let error as OperationsError {
            throw CLIError("replay refused: \(error.description)", status: ExitStatus.failure)
        }
        if json {
            try printJSON(ReplayOutput(group: plan.group, executed: true, reRead: plan.reRead, skipped: plan.skipped, partitions: plan.entries))
        } else {
            print("committed: group \(plan.group) will resume from the new offsets")
        }
    }

    struct ReplayOutput: Encodable {
        var group: String
        var executed: Bool
        var reRead: Int64
        var skipped: Int64
        var partitions: [ResetPlan.Entry]
    }
}
