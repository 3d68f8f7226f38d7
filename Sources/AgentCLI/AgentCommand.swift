import Agent
import ArgumentParser
import Foundation
import KafkaClient
import Logging
import LogModel
import LogshipConfig
import Telemetry

/// `logship agent`: the agent role inside the full CLI.
public struct AgentCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: AgentOptions.abstract,
        discussion: AgentOptions.discussion
    )

    @OptionGroup var options: AgentOptions

    public init() {}

    public func run() async throws { try await options.runAgent() }
}

/// `logship-agent`: the same role and options as `logship agent`, as a binary of its own that
/// links only the agent — no Elasticsearch client, no libcurl and its TLS stack, none of the other
/// roles — so that each host pays less memory for it (README, "Pipeline speed").
public struct AgentBinaryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "logship-agent",
        abstract: AgentOptions.abstract,
        discussion: AgentOptions.discussion + helpText("""


        The same role as `logship agent`, in a binary that links only the agent. Exit codes: 0 ok,
        1 runtime failure, 2 usage or config error.
        """),
        version: logshipVersion
    )

    @OptionGroup var options: AgentOptions

    public init() {}

    public func run() async throws { try await options.runAgent() }
}

/// The agent's options and its run, shared by `logship agent` and `logship-agent`.
public struct AgentOptions: ParsableArguments, Sendable {
    static let abstract = "Tail log files into per-service Kafka topics (logs.<service>), at least once."
    static let discussion = helpText("""
    Reads agent.inputs from the config. The registry (agent.data_dir/registry.json) advances
    only over records Kafka acknowledged; when Kafka is down, reading pauses and nothing is
    dropped. Counters are written to agent.data_dir/metrics.prom every second.
    SIGTERM or Ctrl-C: stop reading, flush with a deadline (agent.shutdown_timeout), save, exit 0.
    SIGHUP: read the configuration again and apply agent.inputs (added, removed, changed),
    masks and levels without a restart; a configuration with problems is refused (logged
    with every problem) and the running one stays.
    """)

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.") var logLevel: LogLevelOption = .info
    @Option(help: "Serve Prometheus metrics on host:port (overrides agent.metrics_listen).") var metricsListen: String?

    public init() {}

    func runAgent() async throws {
        EarlyStop.trap()  // a SIGTERM during set-up stops the role gracefully once it runs
        let config = try cluster.load()
        let logger = makeLogger("logship.agent", level: logLevel)
        let agent: LogAgent
        do {
            agent = try LogAgent(configuration: config, logger: logger)
        } catch let error as AgentError {
            throw CLIError(error.description, status: ExitStatus.usage)
        } catch let error as ConfigurationError {
            throw CLIError(error.description, status: ExitStatus.usage)
        }
        let server = try metricsServer(metricsListen ?? config.agent.metricsListen, agent.metrics, logger) { agent.publishMetrics() }
        try await runRoleGroup(role: agent, name: "agent", servers: server.map { [$0] } ?? [], reload: { try agent.reload(cluster.load()) },
                               deadline: .milliseconds(config.agent.shutdownTimeoutMs + 5_000), logger: logger)
    }
}

/// A role's logger on standard error; librdkafka's own lines go through the same handler and level.
public func makeLogger(_ label: String, level: LogLevelOption) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level.level
    var kafka = Logger(label: "librdkafka") { StreamLogHandler.standardError(label: $0) }
    kafka.logLevel = level.level
    KafkaLogRouting.route(to: kafka)
    return logger
}

/// `--log-level`: the usual names, any case; anything else is a usage error (exit 2), never a
/// silent `info`.
public struct LogLevelOption: ExpressibleByArgument, CustomStringConvertible, Sendable {
    public let level: Logger.Level
    public let description: String

    public static let info = LogLevelOption(argument: "info")!
    static let names: [(String, Logger.Level)] = [
        ("trace", .trace), ("debug", .debug), ("info", .info), ("notice", .notice), ("warn", .warning),
        ("warning", .warning), ("error", .error), ("critical", .critical),
    ]

    public init?(argument: String) {
        guard let (name, level) = Self.names.first(where: { $0.0 == argument.lowercased() }) else { return nil }
        self.level = level
        description = name
    }

    public static var allValueStrings: [String] { names.map(\.0) }
}

