import Detector
import Foundation
import KafkaClient
import LogModel
import LogshipConfig
import Logging
import Prometheus
import Synchronization
import Telemetry

/// `logship detector`: reads every `logs.*` partition, runs the detector engine and produces
/// its alerts to `logship.alerts` in one Kafka transaction with its read positions (group
/// `detector.group`): both are committed, or neither. State is rebuilt from Kafka, never from local files: on
/// start the last `replay` of events before the committed positions is fed through the engine
/// with sending off, and the ids already in `logship.alerts` are loaded; alert ids are
/// deterministic in event time, so an alert re-derived after a crash is recognised and not
/// sent twice.
public final class DetectorService: BlockingRole, Sendable {
    let configuration: DetectorConfiguration
    let logger: Logger
    let admin: KafkaAdmin
    let producer: KafkaProducer
    /// Window length and allowed lateness at start: a reload may not change them.
    let windowMs: Int64
    let latenessMs: Int64
    let stopSignal = StopSignal()
    let heartbeat: HeartbeatPublisher
    let healthProducer: KafkaProducer
    let health = DetectorHealth()

    public convenience init(configuration: LogshipConfiguration, logger: Logger) throws {
        try self.init(configuration: DetectorConfiguration(configuration), logger: logger)
    }

    public init(configuration: DetectorConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let metrics = RoleMetrics(role: "detector", version: "0.1.0")
        self.metrics = metrics
        transactionSeconds = metrics.histogram("logship_detector_transaction_duration_seconds",
                                               help: "Seconds per transaction (alerts produced and read positions committed).",
                                               buckets: RoleMetrics.latencyBuckets)
        let kafka = KafkaConfiguration(configuration.kafka, clientID: "logship-detector")
        admin = try KafkaAdmin(kafka)
        var producerConfiguration = KafkaProducerConfiguration(kafka: kafka, maxInFlight: 10_000,
                                                               createTopicsWithPartitions: configuration.kafka.partitions,
                                                               replicationFactor: configuration.kafka.replicationFactor,
                                                               messageTimeoutMs: 60_000)
        // One transactional id per detector group: a second detector of the group fences the first.
        producerConfiguration.transactionalID = configuration.detector.group
        producer = try KafkaProducer(producerConfiguration, logger: logger)
        let settings = DetectorSettings(configuration.detector)
        windowMs = settings.windowMs
        latenessMs = settings.latenessMs
        let host = ProcessInfo.processInfo.hostName
        let health = self.health
        // Heartbeats go outside the transactions, through a producer of their own.
        healthProducer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 100,
                                                                        replicationFactor: configuration.kafka.replicationFactor), logger: logger)
        heartbeat = HeartbeatPublisher(producer: healthProducer, id: "detector@\(host)", role: "detector", host: host,
                                       version: "0.1.0", intervalMs: configuration.coordinator.heartbeatIntervalMs, logger: logger) {
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

    public func run(pollIntervalMs: Int) throws {
        try DetectorLoop(service: self).run(pollIntervalMs: pollIntervalMs)
    }

    public static func alerts(admin: KafkaAdmin, sinceMs: Int64) throws -> [Alert] {
        let partitions = try admin.partitions(matching: "^" + NSRegularExpression.escapedPattern(for: Naming.alertsTopic) + "$")
        var found: [Alert] = []
        try admin.read(try admin.offsetRanges(partitions, fromMs: sinceMs, toMs: nil)) { message in
            if let alert = try? JSONDecoder().decode(Alert.self, from: Data(message.value)) { found.append(alert) }
        }
        return found.sorted { ($0.window.end, $0.service, $0.rule) < ($1.window.end, $1.service, $1.rule) }
    }

}

/// What only the detector's thread uses, owned by its loop: the engine (windows, rule state)
/// and the ids of the alerts already sent. Not Sendable: made in `run()`, it stays on that thread.
final class DetectorLoop {
    let service: DetectorService
    let engine: DetectorEngine
    var sent = Set<String>()
    var alertsSent = 0

    init(service: DetectorService) {
        self.service = service
        engine = DetectorEngine(service.configuration)
    }

    var configuration: DetectorConfiguration { service.configuration }
    var logger: Logger { service.logger }
    var admin: KafkaAdmin { service.admin }
    var producer: KafkaProducer { service.producer }
    var healthProducer: KafkaProducer { service.healthProducer }
    var heartbeat: HeartbeatPublisher { service.heartbeat }
    var health: DetectorHealth { service.health }
    var stopSignal: StopSignal { service.stopSignal }
    var transactionSeconds: ValueHistogram { service.transactionSeconds }

    var group: String { configuration.detector.group }
    /// Event history replayed on start: the baselines' windows plus the longest span and lateness.
    var replayMs: Int64 {
        let s = engine.settings
        return Int64(s.historyWindows + 2 * s.http5xxRatio.spanWindows + 2) * s.windowMs + s.latenessMs
    }

    func run(pollIntervalMs: Int) throws {
        try producer.initTransactions()
        heartbeat.start()
        defer { heartbeat.stop(); _ = healthProducer.flushBlocking(timeoutMs: 5_000) }
        try loadSentAlerts()
        try loadSnapshots()
        var positions = try recover()
        logger.info("detector started", metadata: ["kafka.group": "\(group)", "detector.partitions": "\(positions.count)",
                                                   "detector.known_alerts": "\(sent.count)"])
        while stopSignal.isRunning {
            let started = ContinuousClock.now
            if let reloaded = service.pendingConfiguration.withLock({ pending in defer { pending = nil }; return pending }) {
                let fresh = DetectorEngine(reloaded)
                engine.adoptRules(of: fresh)
                logger.notice("configuration reloaded: detector rules", metadata: ["detector.services_with_rules": "\(fresh.serviceSettings.count)"])
            }
            positions = try step(positions)
            let rest = Duration.milliseconds(pollIntervalMs) - (ContinuousClock.now - started)
            if rest > .zero { stopSignal.wait(seconds: Double(rest.components.attoseconds) / 1e18 + Double(rest.components.seconds)) }
        }
        _ = producer.flushBlocking(timeoutMs: 10_000)
        logger.info("detector stopped", metadata: ["detector.alerts_sent": "\(alertsSent)"])
    }

    /// Ids of the alerts already in `logship.alerts` over the last two suppress windows.
    func loadSentAlerts() throws {
        let since = nowMs() - 2 * engine.settings.suppressMs - replayMs
        sent.formUnion(try DetectorService.alerts(admin: admin, sinceMs: since).map(\.id))
    }

    /// Services' learnt state from `logship.detector.state` (the latest committed snapshot per
    /// service), so the models do not start again from the replayed windows alone.
    func loadSnapshots() throws {
        do {
            try producer.createTopic(Naming.detectorStateTopic, partitions: 1, config: ["cleanup.policy": "compact"])
        } catch {
            logger.warning("cannot create \(Naming.detectorStateTopic); the models are rebuilt from the replay alone", metadata: ["kafka.error": "\(error)"])
            return
        }
        let partitions = try admin.partitions(matching: "^" + NSRegularExpression.escapedPattern(for: Naming.detectorStateTopic) + "$")
        var ranges: [TopicPartition: Range<Int64>] = [:]
        for (tp, range) in try admin.logOffsets(partitions) where range.low < range.high { ranges[tp] = range.low..<range.high }
        var latest: [String: DetectorEngine.ServiceSnapshot] = [:]
        var unreadable = 0
        let decoder = JSONDecoder()
        try admin.read(ranges) { message in
            guard let key = message.key.map({ String(decoding: $0, as: UTF8.self) }) else { return }
            guard !message.value.isEmpty else { latest[key] = nil; return }  // a tombstone
            if let snapshot = try? decoder.decode(DetectorEngine.ServiceSnapshot.self, from: Data(message.value)) {
                latest[key] = snapshot
            } else {
                unreadable += 1
            }
        }
        engine.restore(latest)
        logger.info("detector models restored from Kafka", metadata: ["detector.services": "\(latest.count)", "detector.unreadable_snapshots": "\(unreadable)"])
    }

    /// The alerts in `logship.alerts` written since `sinceMs`, oldest window first.
    /// Rebuilds the engine from the events before the committed positions; returns the positions.
    func recover() throws -> [TopicPartition: Int64] {
        let partitions = try logPartitions()
        let committed = try admin.committedOffsets(group: group, partitions: partitions)
        let offsets = try admin.logOffsets(partitions)
        let replayFrom = try admin.offsetsForTimes(partitions, timestampMs: nowMs() - replayMs)
        var positions: [TopicPartition: Int64] = [:]
        var ranges: [TopicPartition: Range<Int64>] = [:]
        for tp in partitions {
            guard let (low, _) = offsets[tp] else { continue }
            let position = max((committed[tp] ?? nil) ?? low, low)
            positions[tp] = position
            let from = max(min(replayFrom[tp] ?? position, position), low)
            if from < position { ranges[tp] = from..<position }
        }
        var events: [DetectorEvent] = []
        try admin.read(ranges) { message in if let event = Backtest.decode(message.value) { events.append(event) } }
        events.sort { $0.timestampMs < $1.timestampMs }
        var rederived = 0
        for event in events { rederived += engine.ingest(event).count }
        logger.info("detector state rebuilt from Kafka", metadata: ["detector.events": "\(events.count)", "detector.alerts_rederived": "\(rederived)"])
        return positions
    }

    /// Reads what is new, runs it through the engine, sends the alerts, then commits.
    func step(_ positions: [TopicPartition: Int64]) throws -> [TopicPartition: Int64] {
        var positions = positions
        let ranges = try admin.newRanges(try logPartitions(), after: positions)
        var events: [DetectorEvent] = []
        try admin.read(ranges) { message in if let event = Backtest.decode(message.value) { events.append(event) } }
        events.sort { $0.timestampMs < $1.timestampMs }
        var alerts: [Alert] = []
        for event in events { alerts += engine.ingest(event) }
        let late = Int64(engine.lateEvents.values.reduce(0, +))
        health.counters.withLock {
            $0["events", default: 0] += Int64(events.count)
            // Events that came after their window had closed (counted by the windows, never dropped silently).
            $0["late"] = late
        }
        for (tp, range) in ranges { positions[tp] = range.upperBound }
        try send(alerts, positions: ranges.isEmpty ? [:] : positions)
        if !events.isEmpty { health.scores.withLock { $0 = engine.latestScores() } }
        return positions
    }

    /// Produces the alerts not sent before and commits `positions`, in one transaction.
    func send(_ alerts: [Alert], positions: [TopicPartition: Int64]) throws {
        let fresh = alerts.filter { !sent.contains($0.id) }
        guard !fresh.isEmpty || !positions.isEmpty else { return }
        let failures = Mutex(0)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            transactionSeconds.record(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        do {
            try producer.inTransaction(offsets: positions, group: group) {
                // What the models learnt goes with the positions (every 10 windows a service).
                for (service, snapshot) in positions.isEmpty ? [] : engine.snapshotsDue(everyWindows: 10) {
                    try producer.enqueue(topic: Naming.detectorStateTopic, key: Array(service.utf8), value: Array(try encoder.encode(snapshot))) { result in
                        if case .failure = result { failures.withLock { $0 += 1 } }
                    }
                }
                for alert in fresh {
                    try producer.enqueue(topic: Naming.alertsTopic, key: Array(alert.service.utf8), value: Array(try encoder.encode(alert))) { result in
                        if case .failure = result { failures.withLock { $0 += 1 } }
                    }
                }
                guard producer.flushBlocking(timeoutMs: 30_000), failures.withLock({ $0 }) == 0 else {
                    throw DetectorRoleError("Kafka did not acknowledge \(fresh.count) alerts")
                }
            }
        } catch {
            health.lastError.withLock { $0 = "\(error)" }
            throw DetectorRoleError("alerts and positions not committed (\(error)); a restart derives them again")
        }
        health.counters.withLock { $0["alerts", default: 0] += Int64(fresh.count) }
        for alert in fresh {
            sent.insert(alert.id)
            logger.notice("alert", metadata: ["alert.rule": "\(alert.rule)", "alert.service": "\(alert.service)",
                                              "alert.state": "\(alert.state)", "alert.severity": "\(alert.severity)"])
        }
        alertsSent += fresh.count
    }

    func logPartitions() throws -> [TopicPartition] {
        try admin.metadata().topics.filter { Naming.service(ofTopic: $0.name) != nil }
            .flatMap { topic in topic.partitions.map { TopicPartition(topic.name, $0.id) } }.sorted()
    }

    func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
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
    let lastError = Mutex<String?>(nil)
    /// The last closed window's score per service and rule.
    let scores = Mutex<[String: [String: Double]]>([:])
}

public struct DetectorRoleError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
