import Detector
import DetectorRole
import ElasticClient
import Foundation
import Telemetry
import KafkaClient
import LogModel
import LogshipConfig
import Logging
import Operations
import Synchronization

/// `logship coordinator`: builds the live view of the cluster from Kafka (the `logship.health`
/// heartbeats, read from the beginning; metadata; group offsets; `logship.alerts`) and from
/// Elasticsearch's health, about once a second. Everything it shows comes from there, so any
/// number of coordinators can run and a restarted one shows the same components at once. Only
/// the chart history (lag and events/s over the last hour) is built up in memory.
public final class CoordinatorService: BlockingRole, Sendable {
    public struct Snapshot: Sendable {
        public var cluster: ClusterReport
        public var components: [ComponentView]
        public var lag: LagReport?
        public var alerts: [Alert]
        public var history: [HistoryPoint]
        /// Records produced per service since its topic began (sum of log-end offsets).
        public var eventsProduced: [String: Int64] = [:]
    }

    /// One point of the dashboard's charts.
    public struct HistoryPoint: Codable, Sendable {
        public var at: String
        public var lag: [String: Int64]
        public var eventsPerSecond: [String: Double]

        enum CodingKeys: String, CodingKey { case at, lag, eventsPerSecond = "events_per_second" }
    }

    public static let version = logshipVersion
    let configuration: CoordinatorConfiguration
    let logger: Logger
    let admin: KafkaAdmin
    /// Writes tombstones on logship.health for components forgotten after coordinator.stale_expiry.
    let tombstones: KafkaProducer
    let es: ElasticClient
    let stopSignal = StopSignal()
    let state = Mutex<Snapshot?>(nil)

    /// What one refresh carries to the next (the coordinator's thread, or `status`'s one call).
    struct Carried {
        var beats: [String: ComponentBeat] = [:]
        var healthPositions: [TopicPartition: Int64] = [:]
        var window = SampleWindow<String>(capacity: 10)
        var lastEnds: (atMs: Int64, ends: [String: Int64])?
        var rates: [String: Double] = [:]
        var errorPcts: [String: Double] = [:]
        var alerts: [Alert] = []
        var history: [HistoryPoint] = []
        var lastSlowRefreshMs: Int64 = 0
    }

    let carried = Mutex(Carried())

    // The carried state by name, for the refresh code.
    var beats: [String: ComponentBeat] {
        get { carried.withLock { $0.beats } }
        set { carried.withLock { $0.beats = newValue } }
    }
    var healthPositions: [TopicPartition: Int64] {
        get { carried.withLock { $0.healthPositions } }
        set { carried.withLock { $0.healthPositions = newValue } }
    }
    var window: SampleWindow<String> {
        get { carried.withLock { $0.window } }
        set { carried.withLock { $0.window = newValue } }
    }
    var lastEnds: (atMs: Int64, ends: [String: Int64])? {
        get { carried.withLock { $0.lastEnds } }
        set { carried.withLock { $0.lastEnds = newValue } }
    }
    var rates: [String: Double] {
        get { carried.withLock { $0.rates } }
        set { carried.withLock { $0.rates = newValue } }
    }
    var errorPcts: [String: Double] {
        get { carried.withLock { $0.errorPcts } }
        set { carried.withLock { $0.errorPcts = newValue } }
    }
    var alerts: [Alert] {
        get { carried.withLock { $0.alerts } }
        set { carried.withLock { $0.alerts = newValue } }
    }
    var history: [HistoryPoint] {
        get { carried.withLock { $0.history } }
        set { carried.withLock { $0.history = newValue } }
    }
    var lastSlowRefreshMs: Int64 {
        get { carried.withLock { $0.lastSlowRefreshMs } }
        set { carried.withLock { $0.lastSlowRefreshMs = newValue } }
    }

    public convenience init(configuration: LogshipConfiguration, logger: Logger) throws {
        try self.init(configuration: CoordinatorConfiguration(configuration), logger: logger)
    }

    public init(configuration: CoordinatorConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        admin = try KafkaAdmin(KafkaConfiguration(configuration.kafka, clientID: "logship-coordinator", logLevel: 3))
        tombstones = try KafkaProducer(KafkaProducerConfiguration(kafka: KafkaConfiguration(configuration.kafka, clientID: "logship-coordinator", logLevel: 3),
                                                                  maxInFlight: 100, messageTimeoutMs: 30_000), logger: logger)
        es = try ElasticClient(ElasticConfiguration(configuration.elasticsearch, requestTimeoutMs: 5_000, connectTimeoutMs: 2_000))
    }

    public func stop() { stopSignal.stop() }
    public var snapshot: Snapshot? { state.withLock { $0 } }

    /// Refreshes until `stop()`. Blocking.
    public func run() { run(refreshMs: 1_000) }

    public func run(refreshMs: Int) {
        logger.info("coordinator started", metadata: ["kafka.brokers": "\(configuration.kafka.brokers)", "es.url": "\(LogshipConfiguration.redactingCredentials(inURL: configuration.elasticsearch.url))"])
        while stopSignal.isRunning {
            let started = Date()
            refresh()
            let rest = Double(refreshMs) / 1000 - Date().timeIntervalSince(started)
            if rest > 0 { stopSignal.wait(seconds: rest) }
        }
    }

    /// One pass over every source; failures become part of the view (reachable: false).
    public func refresh() {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        // Alerts and error rates change slowly and cost a search: every 10 s, not every pass.
        let slowDue = nowMs - lastSlowRefreshMs >= 10_000
        if slowDue { lastSlowRefreshMs = nowMs }
        var kafka = ClusterReport.Backend(reachable: true, status: "ok", detail: "")
        var lag: LagReport?
        do {
            let metadata = try admin.metadata()
            kafka.detail = "\(metadata.brokers.count) broker(s), \(metadata.topics.count) topic(s)"
            try readBeats()
            var report = try LagCollector(admin: admin).collect(groups: [configuration.indexer.group, configuration.detector.group],
                                                               topicPattern: "^logs\\..*", fallbackGroups: [])
            // The detector's judges read the counters' partials: judged like any other group.
            report.groups += try LagCollector(admin: admin).collect(groups: [configuration.detector.group + ".judge"],
                                                                    topicPattern: "^logship\\.detector\\.windows$", fallbackGroups: []).groups
            report.judge(window: &window, atMs: nowMs)
            lag = report
            try measureRates(nowMs: nowMs)
            if slowDue {
                alerts = (try? DetectorService.alerts(admin: admin, sinceMs: nowMs - 3_600_000)) ?? alerts
            }
        } catch {
            kafka = .init(reachable: false, status: "unreachable", detail: "\(error)")
        }
        var elastic = ClusterReport.Backend(reachable: true, status: "unknown", detail: "")
        do {
            let health = try es.call("GET", "/_cluster/health")
            elastic.status = health["status"]?.string ?? "unknown"
            elastic.detail = "\(health["number_of_nodes"]?.int ?? 0) node(s)"
            if slowDue {
                let rows = try Investigate.errors(es, periodMs: 300_000, nowMs: nowMs, service: nil)
                errorPcts = Dictionary(uniqueKeysWithValues: rows.map { ($0.service, $0.errorPct) })
            }
        } catch {
            elastic = .init(reachable: false, status: "unreachable", detail: "\(error)")
        }

        let components = HealthRules.components(Array(beats.values), nowMs: nowMs, expiryMs: Int64(configuration.coordinator.staleExpiryMs))
        let groups = (lag?.groups ?? []).map { group in
            let role = group.name.hasPrefix(configuration.detector.group) ? "detector" : "indexer"
            let partitions = group.partitions.count
            return GroupView(name: group.name, members: group.members, partitions: partitions, lag: group.lag, lagSeconds: group.lagSeconds,
                             status: group.status?.rawValue ?? "unknown", trendPerMinute: group.trendPerMinute,
                             advice: HealthRules.advice(role: role, members: group.members, partitions: partitions,
                                                        trendPerMinute: group.trendPerMinute, lag: group.lag))
        }
        let services = Set(rates.keys).union(errorPcts.keys).sorted().map {
            ServiceView(name: $0, eventsPerSecond: rates[$0] ?? 0, errorPct: errorPcts[$0] ?? 0, owner: configuration.services[$0]?.owner)
        }
        let (status, reasons) = HealthRules.verdict(components: components, kafka: kafka, elasticsearch: elastic, groups: groups)
        var counts: [String: [String: Int]] = [:]
        for component in components { counts[component.role, default: [:]][component.status, default: 0] += 1 }
        let cluster = ClusterReport(status: status, reasons: reasons, components: counts, kafka: kafka, elasticsearch: elastic,
                                    groups: groups, services: services, recentAlerts: alerts.count)
        if history.last.map({ nowMs - (Timestamps.epochMillis(of: $0.at) ?? 0) >= 10_000 }) ?? true {
            history.append(HistoryPoint(at: Timestamps.format(epochMillis: nowMs),
                                        lag: Dictionary(uniqueKeysWithValues: groups.map { ($0.name, $0.lag) }), eventsPerSecond: rates))
            if history.count > 360 { history.removeFirst(history.count - 360) }
        }
        let snapshot = Snapshot(cluster: cluster, components: components, lag: lag, alerts: alerts, history: history,
                                eventsProduced: lastEnds?.ends ?? [:])
        state.withLock { $0 = snapshot }
    }

    /// New beats of `logship.health` since the last pass (from the beginning on the first);
    /// the newest per component id wins, as compaction would keep it.
    func readBeats() throws {
        let partitions = try admin.partitions(matching: "^" + NSRegularExpression.escapedPattern(for: Naming.healthTopic) + "$")
        guard !partitions.isEmpty else { return }
        let ranges = try admin.newRanges(partitions, after: healthPositions)
        // Read into a local copy and store it once: each access to `beats` copies the dictionary
        // out of the lock, and the topic is read from the beginning at start.
        var read = beats
        let decoder = JSONDecoder()
        try admin.read(ranges) { message in
            // A tombstone: some coordinator forgot the component.
            if message.value.isEmpty, let key = message.key {
                read.removeValue(forKey: String(decoding: key, as: UTF8.self))
                return
            }
            if let beat = try? decoder.decode(ComponentBeat.self, from: Data(message.value)) {
                if let known = read[beat.id], known.sentAt > beat.sentAt { return }
                read[beat.id] = beat
            }
        }
        beats = read
        var positions = healthPositions
        for (tp, range) in ranges { positions[tp] = range.upperBound }
        healthPositions = positions
        forgetExpired(nowMs: Int64(Date().timeIntervalSince1970 * 1000))
    }

    /// Components silent for longer than coordinator.stale_expiry: forgotten here, and a
    /// tombstone on the compacted logship.health so the topic (and every coordinator reading
    /// it from the beginning) forgets them too.
    func forgetExpired(nowMs: Int64) {
        let expiry = Int64(configuration.coordinator.staleExpiryMs)
        var kept = beats
        let expired = kept.values.filter { nowMs - (Timestamps.epochMillis(of: $0.sentAt) ?? 0) > expiry }.map(\.id)
        guard !expired.isEmpty else { return }
        for id in expired { kept.removeValue(forKey: id) }
        beats = kept
        for id in expired {
            do {
                try tombstones.enqueueTombstone(topic: Naming.healthTopic, key: Array(id.utf8)) { _ in }
                logger.info("component forgotten after coordinator.stale_expiry", metadata: ["component.id": "\(id)"])
            } catch {
                logger.warning("cannot write a tombstone on \(Naming.healthTopic)", metadata: ["component.id": "\(id)", "kafka.error": "\(error)"])
            }
        }
    }

    /// Events/s per service from the growth of its topic's log end offsets between passes.
    func measureRates(nowMs: Int64) throws {
        let partitions = try admin.partitions(matching: "^logs\\..*")
        var ends: [String: Int64] = [:]
        for (tp, offsets) in try admin.logOffsets(partitions) {
            guard let service = Naming.service(ofTopic: tp.topic) else { continue }
            ends[service, default: 0] += offsets.high
        }
        guard let last = lastEnds else {
            lastEnds = (nowMs, ends)
            rates = ends.mapValues { _ in 0 }
            return
        }
        // Over at least 5 s, so one slow pass does not make a spike.
        guard nowMs - last.atMs >= 5_000 else { return }
        let seconds = Double(nowMs - last.atMs) / 1000
        rates = Dictionary(uniqueKeysWithValues: ends.map { service, end in
            (service, Double(max(end - (last.ends[service] ?? end), 0)) / seconds)
        })
        lastEnds = (nowMs, ends)
    }
}
