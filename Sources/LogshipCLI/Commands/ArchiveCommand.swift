import ArgumentParser
import Foundation
import KafkaClient
import LogModel
import Operations

struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Export topics to zstd-compressed JSONL segments, and import them back.",
        discussion: helpText("""
        How an index is rebuilt after Kafka's retention expired: export the topics while they
        exist, later import them (to the same or renamed topics) and reindex. Each segment line
        holds topic, partition, offset, timestamp, key and value; manifest.json lists the
        segments. A damaged segment is reported with its file and record, and the records
        before the damage are imported (exit 1).
        """),
        subcommands: [Export.self, Import.self]
    )

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write topics (or a time range of them) to a directory.")
        @OptionGroup var cluster: ClusterOptions
        @Option(help: "Topics, as a regular expression (e.g. '^logs\\\\.').") var topic: String
        @Option(help: "Only records at or after this time (2026-11-25T00:00:00Z).") var from: String?
        @Option(help: "Only records before this time.") var to: String?
        @Option(help: "The directory to write (created).") var out: String
        @Flag(help: "Print the manifest summary as JSON.") var json = false

        func run() async throws {
            let config = try cluster.load()
            let fromMs = try from.map { try parseTime($0, "--from") }, toMs = try to.map { try parseTime($0, "--to") }
            let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
            let (topic, out, json) = (topic, out, json)
            let manifest: Archive.Manifest
            do {
                manifest = try await admin.run { admin in
                    try Archive.export(admin: admin, topicPattern: topic, fromMs: fromMs, toMs: toMs,
                                       to: URL(fileURLWithPath: out)) { count in
                        if !json { FileHandle.standardError.write(Data("\rexported \(count) records".utf8)) }
                    }
                }
            } catch let error as OperationsError {
                throw CLIError(error.description, status: ExitStatus.usage)
            }
            if json {
                try printJSON(ArchiveSummary(directory: out, records: manifest.records, segments: manifest.segments.count,
                                             bytes: manifest.segments.reduce(0) { $0 + $1.bytes }, problems: []))
            } else {
                FileHandle.standardError.write(Data("\n".utf8))
                print("\(out): \(manifest.records) records in \(manifest.segments.count) segments, "
                      + "\(manifest.segments.reduce(0) { $0 + $1.bytes }) bytes compressed")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Produce an exported archive back into Kafka.")
        @OptionGroup var cluster: ClusterOptions
        @Argument(help: "The archive directory (with manifest.json).") var directory: String
        @Option(name: .customLong("topic-map"), help: "Rename a topic on the way in: A=B (repeatable).") var topicMap: [String] = []
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            let config = try cluster.load()
            var map: [String: String] = [:]
            for pair in topicMap {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw CLIError("--topic-map: expected SOURCE=TARGET, found \(pair)", status: ExitStatus.usage)
                }
                map[parts[0]] = parts[1]
            }
            let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
            let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: config.kafkaConfiguration(clientID: "logship-import"),
                                                                        maxInFlight: 20_000, replicationFactor: config.kafka.replicationFactor))
            let (directory, json, topicMap, replicationFactor) = (directory, json, map, config.kafka.replicationFactor)
            let result: Archive.ImportResult
            do {
                result = try await admin.run { admin in
                    try Archive.importArchive(from: URL(fileURLWithPath: directory), topicMap: topicMap, admin: admin, producer: producer,
                                              replicationFactor: replicationFactor) { count in
                        if !json { FileHandle.standardError.write(Data("\rimported \(count) records".utf8)) }
                    }
                }
            } catch let error as OperationsError {
                throw CLIError(error.description, status: ExitStatus.usage)
            }
            if json {
                try printJSON(ArchiveSummary(directory: directory, records: result.imported, segments: nil, bytes: nil, problems: result.problems))
            } else {
                FileHandle.standardError.write(Data("\n".utf8))
                print("imported \(result.imported) records from \(directory)")
                for problem in result.problems { print("damaged: \(problem)") }
            }
            if !result.problems.isEmpty { throw ExitCode(ExitStatus.failure) }
        }
    }

    struct ArchiveSummary: Encodable {
        var directory: String
        var records: Int
        var segments: Int?
        var bytes: Int?
        var problems: [String]
    }
}

/// A time given on the command line: RFC 3339 or `2026-11-25 10:00:00` (UTC when no zone).
func parseTime(_ text: String, _ option: String) throws -> Int64 {
    guard let ms = Timestamps.epochMillis(of: text) else {
        throw CLIError("\(option): expected a time like 2026-11-25T10:00:00Z, found \(text)", status: ExitStatus.usage)
    }
    return ms
}
