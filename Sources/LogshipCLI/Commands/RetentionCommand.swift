import ArgumentParser
import ElasticClient
import Foundation
import LogshipConfig
import Operations

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Delete daily logs-* indices older than N days (dry run unless --execute).",
        discussion: helpText("""
        For clusters without ILM (OpenSearch, test backends); where ILM exists the indexer
        installs a 30-day policy instead. The day is the one in the index name
        (logs-<service>-<yyyy.MM.dd>), i.e. the events' day. Indices whose names do not end in
        a day are never touched. Run it daily from cron.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Keep this many days (today counts as the first).") var days: Int
    @Flag(help: "Delete (default: only list what would go).") var execute = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard days >= 1 else { throw CLIError("--days must be at least 1", status: ExitStatus.usage) }
        let config = try cluster.load()
        let es = try ElasticClient(config.elasticConfiguration())
        let now = Date()
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: now)
        let indices: [String]
        do {
            indices = try Retention.logIndices(es)
        } catch {
            throw CLIError("cannot list indices at \(LogshipConfiguration.redactingCredentials(inURL: config.elasticsearch.url)): \(error)")
        }
        let expired = Retention.expired(indices, days: days, today: (parts.year!, parts.month!, parts.day!))
        var deleted: [String] = []
        var failed: [String] = []
        if execute {
            for entry in expired {
                do { try es.deleteIndex(entry.index); deleted.append(entry.index) } catch { failed.append("\(entry.index): \(error)") }
            }
        }
        if json {
            try printJSON(Output(days: days, executed: execute, expired: expired, deleted: deleted, failed: failed))
        } else if expired.isEmpty {
            print("nothing older than \(days) days among \(indices.count) logs-* indices")
        } else {
            for entry in expired { print("\(execute ? (deleted.contains(entry.index) ? "deleted" : "FAILED ") : "would delete") \(entry.index)") }
            if !execute { print("dry run: \(expired.count) of \(indices.count) indices are older than \(days) days; add --execute to delete them") }
            for failure in failed { FileHandle.standardError.write(Data("logship: \(failure)\n".utf8)) }
        }
        if !failed.isEmpty { throw ExitCode(ExitStatus.failure) }
    }

    struct Output: Encodable {
        var days: Int
        var executed: Bool
        var expired: [Retention.Expired]
        var deleted: [String]
        var failed: [String]
    }
}
