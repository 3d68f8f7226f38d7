import Agent
import ArgumentParser
import Foundation
import KafkaClient
import Logging
import Telemetry

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Tail log files into per-service Kafka topics (logs.<service>), at least once.",
        discussion: helpText("""
        Reads agent.inputs from the config. The registry (agent.data_dir/registry.json) advances
        only over records Kafka acknowledged; when Kafka is down, reading pauses and nothing is
        dropped. Counters are written to agent.data_dir/metrics.prom every second.
        SIGTERM or Ctrl-C: stop reading, flush with a deadline (agent.shutdown_timeout), save, exit 0.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.") var logLevel: LogLevelOption = .info
    @Option(help: "Serve Prometheus metrics on host:port (overrides agent.metrics_listen).") var metricsListen: String?

    func run() async throws {
        let config = try cluster.load()
        let logger = makeLogger("logship.agent", level: logLevel)
        let agent: LogAgent
        do {
            agent = try LogAgent(configuration: config, logger: logger)
        } catch let error as AgentError {
            throw CLIError(error.description, status: ExitStatus.usage)
        }
        let listen = metricsListen ?? config.agent.metricsListen
        let server = try listen.map { address -> MetricsServer in
            guard let server = MetricsServer(listen: address, logger: logger, render: { agent.metricsText() }) else {
                throw CLIError("--metrics-listen: expected host:port, found \(address)", status: ExitStatus.usage)
            }
            return server
        }
        try await runUntilSignalled(stop: { agent.stop() }, metrics: server, exitWhenDone: true) { try agent.run() }
    }
}

/// A role's logger on standard error; librdkafka's own lines go through the same handler and level.
func makeLogger(_ label: String, level: LogLevelOption) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = level.level
    var kafka = Logger(label: "librdkafka") { StreamLogHandler.standardError(label: $0) }
    kafka.logLevel = level.level
    KafkaLogRouting.route(to: kafka)
    return logger
}

/// `--log-level`: the usual names, any case; anything else is a usage error (exit 2), never a
/// silent `info`.
struct LogLevelOption: ExpressibleByArgument, CustomStringConvertible, Sendable {
    let level: Logger.Level
    let description: String

    static let info = LogLevelOption(argument: "info")!
    static let names: [(String, Logger.Level)] = [
        ("trace", .trace), ("debug", .debug), ("info", .info), ("notice", .notice), ("warn", .warning),
        ("warning", .warning), ("error", .error), ("critical", .critical),
    ]

    init?(argument: String) {
        guard let (name, level) = Self.names.first(where: { $0.0 == argument.lowercased() }) else { return nil }
        self.level = level
        description = name
    }

    static var allValueStrings: [String] { names.map(\.0) }
}

/// Runs a blocking role on its own thread; SIGTERM/SIGINT ask it to stop. With `exitWhenDone`,
/// a role that finished its own shutdown (drained, committed, saved) ends the process from its
/// thread at once, with status 0: nothing else runs between its last commit and the exit.
func runUntilSignalled(stop: @escaping @Sendable () -> Void, metrics: MetricsServer? = nil, exitWhenDone: Bool = false,
                       _ body: @escaping @Sendable () throws -> Void) async throws {
    // The metrics server runs until the process ends: it keeps answering while the role drains,
    // and it is never torn down; `exitNow` ends its threads with the rest.
    if let metrics { Task { try await metrics.run() } }
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    let sources = [SIGTERM, SIGINT].map { signalNumber -> DispatchSourceSignal in
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { stop() }
        source.resume()
        return source
    }
    defer { sources.forEach { $0.cancel() } }
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
        let thread = Thread {
            let result = Result { try body() }
            if exitWhenDone, case .success = result { exitNow(ExitStatus.ok) }
            continuation.resume(with: result)
        }
        thread.name = "logship-role"
        thread.start()
    }
}
