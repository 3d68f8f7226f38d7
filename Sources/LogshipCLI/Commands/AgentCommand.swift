import Agent
import ArgumentParser
import Foundation
import Logging
import Telemetry

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Tail log files into per-service Kafka topics (logs.<service>), at least once.",
        discussion: """
        Reads agent.inputs from the config. The registry (agent.data_dir/registry.json) advances
        only over records Kafka acknowledged; when Kafka is down, reading pauses and nothing is
        dropped. Counters are written to agent.data_dir/metrics.prom every second.
        SIGTERM or Ctrl-C: stop reading, flush with a deadline (agent.shutdown_timeout), save, exit 0.
        """
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"
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
        try await runUntilSignalled(stop: { agent.stop() }, metrics: server) { try agent.run() }
    }
}

func makeLogger(_ label: String, level: String) -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    return logger
}

/// Runs a blocking role on its own thread; SIGTERM/SIGINT ask it to stop.
func runUntilSignalled(stop: @escaping @Sendable () -> Void, metrics: MetricsServer? = nil,
                       _ body: @escaping @Sendable () throws -> Void) async throws {
    let serving = metrics.map { server in Task { try await server.run() } }
    // The metrics server goes first, and is waited for (2 s at most), before the role shuts
    // down: its event-loop thread then cannot race the role's teardown (a member that left the
    // scaling test crashed in NIO's loop once in a while when both wound down together).
    let stopServerThenRole: @Sendable () -> Void = {
        if let serving {
            serving.cancel()
            let done = DispatchSemaphore(value: 0)
            Task { _ = await serving.result; done.signal() }
            _ = done.wait(timeout: .now() + 2)
        }
        stop()
    }
    signal(SIGTERM, SIG_IGN)
    signal(SIGINT, SIG_IGN)
    let sources = [SIGTERM, SIGINT].map { signalNumber -> DispatchSourceSignal in
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { stopServerThenRole() }
        source.resume()
        return source
    }
    defer { sources.forEach { $0.cancel() } }
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.name = "logship-role"
        thread.start()
    }
}
