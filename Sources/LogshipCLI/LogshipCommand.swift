import ArgumentParser
import Foundation
import LogModel

public struct LogshipCommand: AsyncParsableCommand {
    public static let version = logshipVersion

    public static let configuration = CommandConfiguration(
        commandName: "logship",
        abstract: "Kafka-based log collection: agent, indexer and operator tools.",
        discussion: helpText("""
        Configuration comes from logship.yml (--config), then LOGSHIP_* environment variables,
        then flags. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 3 check failed.
        """),
        version: version,
        subcommands: [AgentCommand.self, ParseCommand.self, IndexerCommand.self, LagCommand.self, ReplayCommand.self, ReindexCommand.self, ArchiveCommand.self, DetectorCommand.self, NotifierCommand.self, AlertsCommand.self, DetectCommand.self, ErrorsCommand.self, SlowCommand.self, TraceCommand.self, SearchCommand.self, PatternsCommand.self, RetentionCommand.self, DemoCommand.self, ConfigCommand.self, TopicsCommand.self, DoctorCommand.self, CoordinatorCommand.self, StatusCommand.self]
    )

    public init() {}

    /// Parses and runs, mapping every failure to the exit codes (`ExitStatus`); returns the exit
    /// status once every role has finished its own shutdown.
    public static func runMain(_ arguments: [String]? = nil) async -> Int32 {
        await runCommand(LogshipCommand.self, arguments)
    }
}
