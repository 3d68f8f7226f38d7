import ArgumentParser
import Foundation
import LogModel
import Logging
import LogshipConfig
import Telemetry

// What every logship command shares — exit codes, one-line errors, the cluster options, the
// `--log-level` option, the metrics server — kept apart from the other roles so that the agent's
// own binary (`logship-agent`) links only the agent (no Elasticsearch client, no libcurl).

/// Exit codes (DESIGN.md): 0 ok, 1 runtime failure, 2 usage/config error, 3 check failed.
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 2
    public static let checkFailed: Int32 = 3
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

/// Parses `arguments` with `root` and runs the command, mapping every failure to the exit codes
/// above; returns the exit status. Every role has finished its own shutdown (flushed, committed,
/// left its group, closed its clients) before this returns.
public func runCommand(_ root: ParsableCommand.Type, _ arguments: [String]? = nil) async -> Int32 {
    let name = root.configuration.commandName ?? "logship"
    do {
        var command = try root.parseAsRoot(arguments)
        if var async = command as? AsyncParsableCommand {
            try await async.run()
        } else {
            try command.run()
        }
        return ExitStatus.ok
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("\(name): \(error.message)\n".utf8))
        return error.status
    } catch {
        let code = root.exitCode(for: error)
        if code == .success {
            print(root.fullMessage(for: error))
            return ExitStatus.ok
        }
        FileHandle.standardError.write(Data((root.fullMessage(for: error) + "\n").utf8))
        return code == .validationFailure ? ExitStatus.usage : (code == .failure ? ExitStatus.failure : code.rawValue)
    }
}

/// Options every command that talks to the cluster takes.
public struct ClusterOptions: ParsableArguments, Sendable {
    @Option(name: .shortAndLong, help: "Path to logship.yml (default: ./logship.yml when present).")
    public var config: String?

    @Option(help: "Kafka bootstrap brokers, comma-separated (overrides kafka.brokers).")
    public var brokers: String?

    @Option(name: .customLong("es-url"), help: "Elasticsearch URL (overrides elasticsearch.url).")
    public var esURL: String?

    public init() {}

    /// Loads the configuration; any problem is a usage error (exit 2) listing them all.
    public func load() throws -> LogshipConfiguration {
        var path = config
        if path == nil && FileManager.default.fileExists(atPath: "logship.yml") { path = "logship.yml" }
        var configuration: LogshipConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: path)
        } catch let error as ConfigurationError {
            throw CLIError(error.description, status: ExitStatus.usage)
        }
        if let brokers {
            configuration.kafka.brokers = brokers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let esURL { configuration.elasticsearch.url = esURL }
        return configuration
    }
}

/// JSON output for `--json`: sorted keys, one document.
public func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// The `/metrics` + `/health` server of a role, when it has an address.
public func metricsServer(_ listen: String?, _ metrics: RoleMetrics, _ logger: Logger,
                          refresh: @escaping @Sendable () -> Void = {}) throws -> MetricsServer? {
    try listen.map { address in
        guard let server = MetricsServer(listen: address, metrics: metrics, logger: logger, refresh: refresh) else {
            throw CLIError("--metrics-listen: expected host:port, found \(address)", status: ExitStatus.usage)
        }
        return server
    }
}
