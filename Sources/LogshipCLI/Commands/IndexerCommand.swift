import ArgumentParser
import Foundation
import Indexer
import Logging
import Telemetry

struct IndexerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indexer",
        abstract: "Write logs.* topics to Elasticsearch with exactly-once effect (one member of the indexer group).",
        discussion: helpText("""
        Scale by starting more instances with the same indexer.group: partitions spread across
        them. Offsets are committed only for records Elasticsearch acknowledged (201/409) or that
        went to logs.dlq; 429/5xx/connection failures are retried for ever with consumption paused.
        Index: logs-<service>-<yyyy.MM.dd> from @timestamp (UTC); _id: event.id. SIGTERM: drain,
        commit, leave the group, exit 0. Stall watchdog: owned partitions with lag, Elasticsearch
        answering and nothing fetched or indexed for indexer.stall_timeout (60s) → an error log
        line naming the partitions, heartbeat status `stalled`, degraded in `logship status`.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.") var logLevel: LogLevelOption = .info
    @Option(help: "Serve Prometheus metrics on host:port (overrides indexer.metrics_listen).") var metricsListen: String?
    @Option(help: "Heartbeat key on logship.health (default indexer@<host>, or indexer@<host>/<instance-id>: both survive a restart).") var componentID: String?
    @Option(help: ArgumentHelp("Static group membership id (KIP-345).", discussion:
        "An indexer restarted with the same id takes its partitions back at once, without a rebalance (for indexers a supervisor restarts). A static member does not leave the group on shutdown: its partitions wait session.timeout.ms for it."))
    var instanceID: String?

    func run() async throws {
        EarlyStop.trap()  // a SIGTERM during set-up stops the role gracefully once it runs
        let config = try cluster.load()
        let logger = makeLogger("logship.indexer", level: logLevel)
        let indexer = try IndexerService(configuration: config, componentID: componentID, instanceID: instanceID, logger: logger)
        let server = try metricsServer(metricsListen ?? config.indexer.metricsListen, indexer.stats.metrics, logger) { indexer.stats.publish() }
        do {
            // Deadline: the batch in hand (one bulk request and its commit), then leaving the group.
            try await runRoleGroup(role: indexer, name: "indexer", servers: server.map { [$0] } ?? [],
                                   deadline: .seconds(30), logger: logger)
        } catch let error as IndexerError where error.needsOperator {
            throw CLIError(error.description, status: ExitStatus.usage)
        }
    }
}
