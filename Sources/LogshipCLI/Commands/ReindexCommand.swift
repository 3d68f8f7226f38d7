import ArgumentParser
import ElasticClient
import Foundation
import Telemetry
import Logging
import Indexer
import KafkaClient
import Synchronization

struct ReindexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Rebuild a service's indices from its topic into logs-<service>-<date>-<suffix>.",
        discussion: helpText("""
        Reads logs.<service> (optionally only --from/--to) with its own consumer group
        (logship-reindex-<service>-<suffix>) and writes every event with its usual id into the
        suffixed daily indices, with a progress line (rate, ETA). Safe to interrupt (Ctrl-C: the
        current bulk finishes and the progress is saved) and to run again: it resumes, and
        documents already there are not written twice. --swap-alias then points the read alias
        logs-<service> at the new indices in one atomic step; --delete-old deletes the indices
        the alias left (never before the swap). Events indexed after the reindex started stay in
        the unsuffixed indices: reindex closed days (--to), or run again before swapping.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "The service (topic logs.<service>).") var service: String
    @Option(help: "Only events at or after this time (2026-11-25T00:00:00Z).") var from: String?
    @Option(help: "Only events before this time.") var to: String?
    @Option(help: "Suffix of the new indices.") var suffix: String = "v2"
    @Flag(help: "Point the read alias at the new indices when done.") var swapAlias = false
    @Flag(help: "Delete the indices the alias left (needs --swap-alias).") var deleteOld = false
    @Flag(help: "Print the result as JSON.") var json = false

    func validate() throws {
        if deleteOld && !swapAlias { throw ValidationError("--delete-old needs --swap-alias: old indices go only once the alias has left them") }
        guard suffix.range(of: "^[a-z0-9_]+$", options: .regularExpression) != nil else {
            throw ValidationError("--suffix: lower-case letters, digits and _ only (found \(suffix))")
        }
    }

    func run() async throws {
        EarlyStop.trap()  // a SIGTERM during set-up stops the role gracefully once it runs
        let config = try cluster.load()
        var options = Reindexer.Options(service: service, suffix: suffix)
        options.fromMs = try from.map { try parseTime($0, "--from") }
        options.toMs = try to.map { try parseTime($0, "--to") }
        let reindexer = Reindexer(admin: try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-reindex")),
                                  es: try ElasticClient(config.elasticConfiguration()), options: options)
        let stopping = Atomic<Bool>(false)
        let outcome = Mutex<Result<Reindexer.Result, Error>?>(nil)
        let (json, swapAlias, deleteOld) = (json, swapAlias, deleteOld)
        let started = Date()
        let job = JobRole(body: {
            let result = Result {
                var result = try reindexer.run(shouldStop: { stopping.load(ordering: .relaxed) }) { p in
                    guard !json else { return }
                    FileHandle.standardError.write(Data(("\r" + Self.progressLine(p, since: started)).utf8))
                }
                if !json { FileHandle.standardError.write(Data("\n".utf8)) }
                if swapAlias && !result.interrupted {
                    let indices = try reindexer.suffixedIndices()
                    let old = try reindexer.swapAlias(to: indices)
                    result.indices = indices
                    result.aliasSwapped = true
                    if deleteOld {
                        for index in old { try reindexer.es.deleteIndex(index) }
                        result.deleted = old
                    }
                }
                return result
            }
            outcome.withLock { $0 = result }
        }, onStop: { stopping.store(true, ordering: .relaxed) })
        try await runRoleGroup(role: job, name: "reindex", deadline: .seconds(60), logger: Logger(label: "logship.reindex"))
        let result: Reindexer.Result
        do {
            result = try outcome.withLock { $0 }!.get()
        } catch let error as IndexerError {
            throw CLIError(error.description)
        }
        if json {
            try printJSON(result)
        } else {
            print("\(result.service): \(result.documents) events read, \(result.created) written, \(result.alreadyThere) already there, "
                  + "\(result.rejected) rejected; \(result.indices.count) indices")
            if result.aliasSwapped { print("alias logs-\(result.service) now points at \(result.indices.joined(separator: ", "))") }
            if !result.deleted.isEmpty { print("deleted \(result.deleted.joined(separator: ", "))") }
        }
        if result.interrupted {
            throw CLIError("interrupted after \(result.documents) events; run the same command again to resume", status: ExitStatus.failure)
        }
    }

    static func progressLine(_ p: Reindexer.Progress, since started: Date) -> String {
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        let rate = Double(p.done) / elapsed
        let fraction = p.total > 0 ? Double(p.done) / Double(p.total) : 1
        let width = 30, filled = Int(fraction * Double(width))
        let eta = rate > 0 ? Double(p.total - p.done) / rate : 0
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(format: "%d/%d %.0f%%  %.0f events/s  ETA %.0f s", p.done, p.total, fraction * 100, rate, eta)
    }
}
