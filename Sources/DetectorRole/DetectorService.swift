import Detector
import Foundation
import KafkaClient
import LogModel
import LogshipConfig
import Logging
import Prometheus
import Synchronization
import Telemetry

/// `logship detector`: two stages, each a consumer-group member with exactly-once transactions
/// (KIP-447: positions bound to the member's group generation, so a zombie is fenced). Counters
/// (group `detector.group`) read the `logs.*` partitions they are given and send partial window
/// counts per service and partition to `logship.detector.windows`; judges (group
/// `<detector.group>.judge`) read the partials of the services they are given — keyed by
/// service, so a service has one judge — merge them into exact windows, score and judge them,
/// and produce alerts to `logship.alerts` with snapshots of what they learnt
/// (`logship.detector.state`) and their positions. Any number of detectors can run; each runs
/// both stages. Nothing is kept on local disk: a judge given a partition restores its services'
/// snapshots and replays the partials after them; alert ids are deterministic in event time, so
/// an alert derived again is recognised and not sent twice.
public final class DetectorService: BlockingRole, Sendable {
    let configuration: DetectorConfiguration
    let logger: Logger
    let admin: KafkaAdmin
    let kafka: KafkaConfiguration
    /// Names this process's transactional producers: the static instance id, else host and
    /// process id.
    let instance: String
    let instanceID: String?
    /// Window length and allowed lateness at start: a reload may not change them.
    let windowMs: Int64
    let latenessMs: Int64
    let stopSignal = StopSignal()
    let heartbeat: HeartbeatPublisher
    let healthProducer: KafkaProducer
    let health = DetectorHealth()

    public convenience init(configuration: LogshipConfiguration, instanceID: String? = nil, logger: Logger) throws {
        try self.init(configuration: DetectorConfiguration(configuration), instanceID: instanceID, logger: logger)
    }

    public init(configuration: DetectorConfiguration, instanceID: String? = nil, logger: Logger) throws {
        self.instanceID = instanceID
        self.configuration = configuration
        self.logger = logger
        let metrics = RoleMetrics(role: "detector", version: logshipVersion)
        self.metrics = metrics
        transactionSeconds = metrics.histogram("logship_detector_transaction_duration_seconds",
                                               help: "Seconds per transaction (alerts produced and read positions committed).",
                                               buckets: RoleMetrics.latencyBuckets)
        let kafka = KafkaConfiguration(configuration.kafka, clientID: "logship-detector")
        self.kafka = kafka
        admin = try KafkaAdmin(kafka)
        let settings = DetectorSettings(configuration.detector)
        windowMs = settings.windowMs
        latenessMs = settings.latenessMs
        let host = ProcessInfo.processInfo.hostName
        instance = instanceID ?? "\(host).\(ProcessInfo.processInfo.processIdentifier)"
        let health = self.health
        // Heartbeats go outside the transactions, through a producer of their own.
        healthProducer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 100,
                                                                        replicationFactor: configuration.kafka.replicationFactor), logger: logger)
        heartbeat = HeartbeatPublisher(producer: healthProducer, id: instanceID.map { "detector@\(host)/\($0)" } ?? "detector@\(host)", role: "detector", host: host,
                                       version: logshipVersion, intervalMs: configuration.coordinator.heartbeatIntervalMs, logger: logger) {
            HeartbeatPublisher.State(counters: health.counters.withLock { $0 }, lastError: health.lastError.withLock { $0 })
        }
    }

    public func stop() { stopSignal.stop() }

    /// Counters published from the heartbeat's, plus the transaction histogram.
    public let metrics: RoleMetrics
    let transactionSeconds: ValueHistogram

    /// Rules of a reload, adopted by the detector's thread before its next step.
    let pendingConfiguration = Mutex<DetectorConfiguration?>(nil)

    /// SIGHUP: the rules, thresholds, suppression and owners of `configuration`, from the next
    /// step on; window state is kept. A change of detector.window or allowed_lateness is refused
    /// (they need a restart), as is a configuration whose rules do not validate.
    public func reload(_ whole: LogshipConfiguration) throws {
        let configuration = DetectorConfiguration(whole)
        let fresh = DetectorEngine(configuration)
        guard fresh.settings.windowMs == windowMs, fresh.settings.latenessMs == latenessMs else {
            throw DetectorRoleError("detector.window and detector.allowed_lateness change only with a restart")
        }
        pendingConfiguration.withLock { $0 = configuration }
    }

    /// Events the counter has counted (and committed).
    public var eventsCounted: Int64 { health.counters.withLock { $0["events"] ?? 0 } }

    /// Partitions each stage owns now (counter: `logs.*`; judge: `logship.detector.windows`).
    public var stagePartitions: (counter: Int, judge: Int) { health.partitions.withLock { $0 } }

    public func publishMetrics() {
        let counters = health.counters.withLock { $0 }
        let scores = health.scores.withLock { $0 }
        metrics.publish(gauge: "logship_detector_score", help: "Anomaly score in [0, 1] of the last closed window, per service and scored rule (0.5: the edge of its usual range).",
                        samples: scores.sorted { $0.key < $1.key }.flatMap { service, rules in
                            rules.sorted { $0.key < $1.key }.map { (labels: [("service", service), ("rule", $0.key)], value: $0.value) }
                        })
        metrics.publish(counter: "logship_detector_events_total", help: "Events read and counted into windows.", value: counters["events"] ?? 0)
        metrics.publish(counter: "logship_detector_alerts_total", help: "Alerts produced to logship.alerts.", value: counters["alerts"] ?? 0)
        metrics.publish(counter: "logship_detector_late_events_total", help: "Events that came after their window had closed (counted, not judged).",
                        value: counters["late"] ?? 0)
    }

    /// Runs until `stop()`. Blocking.
    public func run() throws { try run(pollIntervalMs: 1_000) }

    /// The counter on a thread of its own, the judge on this one; either failing stops both.
    public func run(pollIntervalMs: Int) throws {
        heartbeat.start()
        defer { heartbeat.stop(); _ = healthProducer.flushBlocking(timeoutMs: 5_000) }
        let counterFailure = Mutex<(any Error)?>(nil)
        let counterDone = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            defer { counterDone.signal() }
            do { try CounterLoop(service: self).run(pollIntervalMs: pollIntervalMs) } catch {
                counterFailure.withLock { $0 = error }
                logger.error("detector counter stopped", metadata: ["error": "\(error)"])
                stopSignal.stop()
            }
        }
        thread.name = "logship.detector.counter"
        thread.start()
        do {
            try JudgeLoop(service: self).run(pollIntervalMs: pollIntervalMs)
        } catch {
            stopSignal.stop()
            counterDone.wait()
            throw error
        }
        counterDone.wait()
        if let error = counterFailure.withLock({ $0 }) { throw error }
    }

    var judgeGroup: String { configuration.detector.group + ".judge" }

    /// Partials replayed when a judge takes over services without a snapshot: the baselines'
    /// windows plus the longest span and lateness.
    var replayMs: Int64 {
        let s = DetectorSettings(configuration.detector)
        return Int64(s.historyWindows + 2 * s.http5xxRatio.spanWindows + 2) * s.windowMs + s.latenessMs
    }

    public static func alerts(admin: KafkaAdmin, sinceMs: Int64) throws -> [Alert] {
        let partitions = try admin.partitions(matching: "^" + NSRegularExpression.escapedPattern(for: Naming.alertsTopic) + "$")
        var found: [Alert] = []
        // (A broker without offsets-for-times, such as librdkafka's mock cluster: the whole topic.)
        let ranges = try (try? admin.offsetRanges(partitions, fromMs: sinceMs, toMs: nil)) ?? admin.offsetRanges(partitions, fromMs: nil, toMs: nil)
        try admin.read(ranges) { message in
            if let alert = try? JSONDecoder().decode(Alert.self, from: Data(message.value)) { found.append(alert) }
        }
        return found.sorted { ($0.window.end, $0.service, $0.rule) < ($1.window.end, $1.service, $1.rule) }
    }

}

extension DetectorSettings {
    /// The engine's settings from `logship.yml`'s `detector` section.
    public init(_ configuration: LogshipConfiguration.Detector) {
        self.init()
        windowMs = Int64(configuration.windowMs)
        latenessMs = Int64(configuration.allowedLatenessMs)
        suppressMs = Int64(configuration.suppressMs)
        slowMs = Int64(configuration.slowThresholdMs)
        traceURL = configuration.traceURL
        scoreThreshold = configuration.scoreThreshold
        criticalScore = configuration.criticalScore
        if let wait = configuration.groupWaitMs { groupWaitWindows = Int((Int64(wait) + windowMs - 1) / max(windowMs, 1)) }
        apply(configuration.rules)
    }
}

extension DetectorEngine {
    public convenience init(_ configuration: LogshipConfiguration) {
        self.init(DetectorConfiguration(configuration))
    }

    /// The engine `logship.yml` describes: global settings, per-service rule overrides, owners.
    public convenience init(_ configuration: DetectorConfiguration) {
        let global = DetectorSettings(configuration.detector)
        var perService: [String: DetectorSettings] = [:]
        for (name, service) in configuration.services where !service.rules.isEmpty {
            var settings = global
            settings.apply(service.rules)
            perService[name] = settings
        }
        self.init(settings: global, owners: configuration.services.compactMapValues(\.owner), serviceSettings: perService)
    }
}

/// What the detector's heartbeats report.
final class DetectorHealth: Sendable {
    let counters = Mutex(["events": Int64(0), "alerts": Int64(0), "late": Int64(0)])
    let partitions = Mutex((counter: 0, judge: 0))
    let lastError = Mutex<String?>(nil)
    /// The last closed window's score per service and rule.
    let scores = Mutex<[String: [String: Double]]>([:])
}

public struct DetectorRoleError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
