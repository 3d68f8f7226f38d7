import ArgumentParser
import Detector
import DetectorRole
import Foundation
import KafkaClient
import LogModel
import LogshipConfig

struct DetectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detector",
        abstract: "Watch logs.* for statistical surges and produce alerts to logship.alerts.",
        discussion: """
        Reads every logs.* partition, counts events in event-time windows per service and runs
        the rules (see README, "The detector"). Its read positions are committed under
        detector.group only after Kafka acknowledged the alerts. On start the state is rebuilt
        from Kafka (recent events and the alerts already sent), so a restart neither repeats nor
        misses an alert. SIGTERM: finish the step in hand, exit 0.
        Not yet: delivery to webhooks/WeCom/DingTalk/Slack (read logship.alerts, or `logship alerts`).
        """
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"
    @Option(help: "How often to read new events, in milliseconds.") var pollInterval: Int = 1_000

    func run() async throws {
        let config = try cluster.load()
        let service = try DetectorService(configuration: config, logger: makeLogger("logship.detector", level: logLevel))
        let interval = pollInterval
        try await runUntilSignalled(stop: { service.stop() }) { try service.run(pollIntervalMs: interval) }
    }
}

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List recent alerts from logship.alerts.",
        discussion: "--json prints one object per alert with the fields of the topic: id, rule, service, state, severity, observed, baseline, window, context."
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "How far back (e.g. 1h, 1d).") var since: String = "1d"
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let config = try cluster.load()
        guard let ms = DurationText.parseMilliseconds(since) else {
            throw CLIError("--since: expected a duration like 1h, found \(since)", status: ExitStatus.usage)
        }
        let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
        let since = Int64(Date().timeIntervalSince1970 * 1000) - Int64(ms)
        let alerts = try await admin.run { admin in try DetectorService.alerts(admin: admin, sinceMs: since) }
        if json {
            try printJSON(alerts)
            return
        }
        guard !alerts.isEmpty else { print("no alerts in the last \(since)"); return }
        var table = Table("WINDOW END", "SERVICE", "RULE", "STATE", "SEVERITY", "OBSERVED", "BASELINE", "OWNER")
        for a in alerts {
            table.add(a.window.end, a.service, a.rule, a.state, a.severity, String(format: "%.3g", a.observed),
                      String(format: "%.3g", a.baseline), a.context.owner ?? "-")
        }
        print(table.render())
    }
}
