import ArgumentParser
import Foundation

/// Exit codes (DESIGN.md): 0 ok, 1 runtime failure, 2 usage/config error, 3 check failed.
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 2
    public static let checkFailed: Int32 = 3
}

public struct LogshipCommand: AsyncParsableCommand {
    public static let version = "0.1.0"

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

    /// Parses and runs, mapping every failure to the exit codes above; returns the exit status.
    /// Every role has finished its own shutdown (flushed, committed, left its group, closed its
    /// clients) before this returns.
    public static func runMain(_ arguments: [String]? = nil) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
            return ExitStatus.ok
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("logship: \(error.message)\n".utf8))
            return error.status
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                return ExitStatus.ok
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            return code == .validationFailure ? ExitStatus.usage : (code.rawValue == 0 ? 0 : code == .failure ? ExitStatus.failure : code.rawValue)
        }
    }
}

/// An error the CLI reports as one line and a chosen exit status.
public struct CLIError: Error, CustomStringConvertible {
    public var description: String { message }
    public var message: String
    public var status: Int32

    public init(_ message: String, status: Int32 = ExitStatus.failure) {
        self.message = message
        self.status = status
    }
}
