import ArgumentParser
import Detector
import DetectorRole
import Foundation
import KafkaClient
import LogModel
import LogshipConfig
import Logging
import Telemetry

struct DetectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detector",
        abstract: "Watch logs.* for statistical surges and produce alerts to logship.alerts.",
        discussion: helpText("""
        Two stages, each a consumer-group member (see README, "The detector"): counters (group
        detector.group) read the logs.* partitions they are given and send partial window counts
        to logship.detector.windows; judges (group <detector.group>.judge) merge the partials of
        the services they are given into exact windows, score and judge them. Scale by starting
        more detectors: partitions spread across them, and each service is still judged on all
        of its events. Each stage commits its output and read positions in one transaction bound
        to its group membership (a zombie is fenced); a judge taking over services restores their
        snapshots from logship.detector.state, so a restart neither repeats nor misses an alert.
        With destinations in detector.notify, the notifier runs in the same process (see
        `logship notifier --help`); --no-notify leaves delivery to a separate `logship notifier`.
        SIGTERM: finish the step in hand, exit 0. SIGHUP: read the configuration again and judge
        the next windows by its rules, thresholds and owners (windows are kept; detector.window
        and allowed_lateness need a restart); a configuration with problems is refused, logged.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.") var logLevel: LogLevelOption = .info
    @Option(help: "How often to read new events, in milliseconds.") var pollInterval: Int = 1_000
    @Flag(help: "Do not deliver alerts from this process.") var noNotify = false
    @Option(help: "Serve Prometheus metrics on host:port (overrides detector.metrics_listen).") var metricsListen: String?
    @Option(help: ArgumentHelp("Static group membership id (KIP-345) of both stages.", discussion:
        "A detector restarted with the same id takes its partitions back at once, without a rebalance (for detectors a supervisor restarts); its transactional ids derive from it, so the restart also fences its predecessor's producers. Without it, members are dynamic and a crashed one's partitions move after session.timeout.ms."))
    var instanceID: String?

    func run() async throws {
        EarlyStop.trap()  // a SIGTERM during set-up stops the role gracefully once it runs
        let config = try cluster.load()
        let logger = makeLogger("logship.detector", level: logLevel)
        let service = try DetectorService(configuration: config, instanceID: instanceID, logger: logger)
        let notifier = config.detector.notify.isEmpty || noNotify ? nil : Notifier(configuration: config, logger: logger)
        let role = DetectorRoleRunner(detector: service, notifier: notifier, pollIntervalMs: pollInterval, logger: logger)
        let server = try metricsServer(metricsListen ?? config.detector.metricsListen, service.metrics, logger) { service.publishMetrics() }
        // Deadline: the transaction in hand (its flush waits up to 30 s), then the notifier's delivery in hand.
        try await runRoleGroup(role: role, name: "detector", servers: server.map { [$0] } ?? [], reload: { try service.reload(cluster.load()) },
                               deadline: .seconds(45), logger: logger)
    }
}

/// The detector, and the notifier when it runs in the same process (on a thread of its own,
/// stopped after the detector).
struct DetectorRoleRunner: BlockingRole {
    let detector: DetectorService
    let notifier: Notifier?
    let pollIntervalMs: Int
    let logger: Logger

    func run() throws {
        let delivering = DispatchGroup()
        if let notifier {
            delivering.enter()
            let logger = self.logger
            Thread {
                defer { delivering.leave() }
                do { try notifier.run() } catch { logger.error("notifier failed", metadata: ["error": "\(error)"]) }
            }.start()
        }
        defer { notifier?.stop(); delivering.wait() }
        try detector.run(pollIntervalMs: pollIntervalMs)
    }

    func stop() { detector.stop() }
}

struct NotifierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier",
        abstract: "Deliver the alerts of logship.alerts to webhooks, WeCom, DingTalk and Slack.",
        discussion: helpText("""
        Destinations come from detector.notify in logship.yml:
          notify:
            - {type: webhook, url: "https://hooks.example/alerts"}            # JSON, Idempotency-Key header
            - {type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"}
            - {type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=…", secret: "SEC…"}
            - {type: slack, url: "https://hooks.slack.com/services/…", rate_limit: 1/s}
        Each destination keeps its own position (group <detector.notifier_group>.<name>), so one
        that is down holds back only itself. Retries back off up to a minute; an answer that
        refuses the alert for good (wrong token, bad signature) is retried 5 times and logged.
        Rate limits (default 20/min for WeCom and DingTalk) turn the excess into one digest
        message when a slot frees, never into drops. A destination seen for the first time starts
        with the alerts of the last 5 minutes. `logship detector` runs this itself unless --no-notify.
        """)
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "Log level: trace, debug, info, notice, warn (or warning), error, critical.") var logLevel: LogLevelOption = .info
    @Option(help: "Serve Prometheus metrics on host:port.") var metricsListen: String?

    func run() async throws {
        EarlyStop.trap()  // a SIGTERM during set-up stops the role gracefully once it runs
        let config = try cluster.load()
        guard !config.detector.notify.isEmpty else {
            throw CLIError("no destinations: add detector.notify to the configuration (see --help)", status: ExitStatus.usage)
        }
        let logger = makeLogger("logship.notifier", level: logLevel)
        let notifier = Notifier(configuration: config, logger: logger)
        let server = try metricsServer(metricsListen, notifier.metrics, logger) { notifier.publishMetrics() }
        // Deadline: one delivery in hand per destination (HTTP timeouts are 10 s).
        try await runRoleGroup(role: notifier, name: "notifier", servers: server.map { [$0] } ?? [], deadline: .seconds(20), logger: logger)
    }
}

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List recent alerts from logship.alerts.",
        discussion: """
        --json prints one object per alert with the fields of the topic: id, rule, service, state, severity, observed, \
        baseline, window, context, score, incident, and for new_pattern the template (pattern: id, template). Alerts \
        of several services that share trace ids form an incident (origin = the likely first failing service); the \
        table lists the incidents first, then every alert with its incident's origin, then the new error templates.
        """
    )

    @OptionGroup var cluster: ClusterOptions
    @Option(help: "How far back (e.g. 1h, 1d).") var since: String = "1d"
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let config = try cluster.load()
        let period = try durationOption(since, "--since")
        let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
        let sinceMs = nowMs() - period
        let alerts = try await admin.run { admin in try DetectorService.alerts(admin: admin, sinceMs: sinceMs) }
        if json {
            try printJSON(alerts)
            return
        }
        guard !alerts.isEmpty else { print("no alerts in the last \(since)"); return }
        var incidents: [String: Incident] = [:]
        for alert in alerts { if let incident = alert.incident { incidents[incident.id] = incident } }
        if !incidents.isEmpty {
            var table = Table("INCIDENT", "ORIGIN", "AFFECTED", "SHARED TRACES", "FIRST WINDOW")
            for incident in incidents.values.sorted(by: { $0.id < $1.id }) {
                let first = alerts.filter { $0.incident?.id == incident.id }.map(\.window.start).min() ?? "-"
                table.add(incident.id, incident.origin, incident.affected.joined(separator: ", "), String(incident.sharedTraces), first)
            }
            print(table.render())
            print("")
        }
        var table = Table("WINDOW END", "SERVICE", "RULE", "STATE", "SEVERITY", "SCORE", "OBSERVED", "BASELINE", "OWNER", "INCIDENT")
        for a in alerts {
            table.add(a.window.end, a.service, a.rule, a.state, a.severity, a.score.map { String(format: "%.2f", $0) } ?? "-",
                      String(format: "%.3g", a.observed), String(format: "%.3g", a.baseline), a.context.owner ?? "-",
                      a.incident.map { $0.origin == a.service ? "origin" : "from \($0.origin)" } ?? "-")
        }
        print(table.render())
        let patterns = alerts.filter { $0.pattern != nil }
        guard !patterns.isEmpty else { return }
        var templates = Table("FIRST WINDOW", "SERVICE", "TEMPLATE ID", "COUNT", "TEMPLATE")
        for a in patterns {
            templates.add(a.window.start, a.service, a.pattern!.id, String(format: "%.0f", a.observed), String(a.pattern!.template.prefix(120)))
        }
        print("")
        print(templates.render())
    }
}
