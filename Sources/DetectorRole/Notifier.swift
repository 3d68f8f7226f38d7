import Detector
import ElasticClient
import Foundation
import Telemetry
import KafkaClient
import LogModel
import LogshipConfig
import Logging
import Synchronization

/// Delivers the alerts of `logship.alerts` to the configured destinations. Each destination is
/// its own worker with its own committed position (group `<detector.notifier_group>.<name>`), so
/// a destination that is down holds back only itself, and its alerts are delivered once it
/// answers again. A position advances only past alerts the destination accepted (or refused
/// for good, after 5 attempts: a wrong URL or signature is logged as an error each time).
/// Rate limits are kept by sending what exceeds them as one digest when the window frees:
/// nothing is dropped. Retries back off exponentially up to a minute. Every request carries the
/// alert id (or the digest's hash of ids) as its idempotency key. A destination seen for the
/// first time starts with the alerts of the last 5 minutes.
public final class Notifier: BlockingRole, Sendable {
    let configuration: DetectorConfiguration
    let logger: Logger
    let stopSignal = StopSignal()
    public let delivered = Atomic<Int>(0)
    /// Alerts not sent on their own: another alert of their incident carries them.
    public let grouped = Atomic<Int>(0)
    public let metrics = RoleMetrics(role: "notifier", version: logshipVersion)

    public func publishMetrics() {
        metrics.publish(counter: "logship_notifier_messages_delivered_total", help: "Alerts (and digests' alerts) the destinations accepted.",
                        value: Int64(delivered.load(ordering: .relaxed)))
        metrics.publish(counter: "logship_notifier_alerts_grouped_total", help: "Alerts sent inside their incident's message, not on their own.",
                        value: Int64(grouped.load(ordering: .relaxed)))
    }

    public convenience init(configuration: LogshipConfiguration, logger: Logger) {
        self.init(configuration: DetectorConfiguration(configuration), logger: logger)
    }

    public init(configuration: DetectorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func stop() { stopSignal.stop() }
    var isRunning: Bool { stopSignal.isRunning }

    /// One thread per destination; returns when `stop()` was called and every worker ended.
    public func run() throws { try run(pollIntervalMs: 500) }

    public func run(pollIntervalMs: Int) throws {
        let kafka = KafkaConfiguration(configuration.kafka, clientID: "logship-notifier")
        // Clients are made here (a bad destination fails the start); each worker is made on
        // its own thread and stays there.
        let clients = try configuration.detector.notify.map { destination in
            (destination: destination, admin: try KafkaAdmin(kafka), http: try WebClient(timeoutMs: 10_000))
        }
        logger.info("notifier started", metadata: ["notify.destinations": "\(clients.map(\.destination.name))"])
        let done = DispatchGroup()
        let notifierGroup = configuration.detector.notifierGroup
        for client in clients {
            done.enter()
            let thread = Thread { [self] in
                DestinationWorker(destination: client.destination, group: "\(notifierGroup).\(client.destination.name)",
                                  admin: client.admin, http: client.http, notifier: self).run(pollIntervalMs: pollIntervalMs)
                done.leave()
            }
            thread.name = "notify-\(client.destination.name)"
            thread.start()
        }
        done.wait()
        logger.info("notifier stopped", metadata: ["notify.delivered": "\(delivered.load(ordering: .relaxed))"])
    }

    /// Waits `ms`, or less when `stop()` comes first.
    func pause(ms: Int) { stopSignal.wait(ms: ms) }
}

/// One destination's delivery loop; made on its thread and used only there.
final class DestinationWorker {
    let destination: LogshipConfiguration.Notify
    let group: String
    let admin: KafkaAdmin
    let notifier: Notifier
    let http: WebClient
    var logger: Logger { notifier.logger }
    /// When each message inside the current rate window went out.
    var sentAt: [Date] = []
    var pending: [(alert: Alert, tp: TopicPartition, offset: Int64)] = []
    var positions: [TopicPartition: Int64] = [:]

    init(destination: LogshipConfiguration.Notify, group: String, admin: KafkaAdmin, http: WebClient, notifier: Notifier) {
        self.destination = destination
        self.group = group
        self.admin = admin
        self.http = http
        self.notifier = notifier
    }

    func run(pollIntervalMs: Int) {
        var attempt = 0
        while notifier.isRunning {
            do {
                try readNew()
                try deliverPending()
                attempt = 0
                notifier.pause(ms: pollIntervalMs)
            } catch {
                attempt += 1
                logger.warning("notifier cannot read or commit; retrying", metadata: ["notify.destination": "\(destination.name)", "error": "\(error)"])
                notifier.pause(ms: RetryPolicy.backoffMs(attempt: attempt, baseMs: 500, capMs: 30_000, random: Double.random(in: 0.5..<1)))
            }
        }
    }

    func readNew() throws {
        let pattern = "^" + NSRegularExpression.escapedPattern(for: Naming.alertsTopic) + "$"
        let partitions = try admin.partitions(matching: pattern)
        guard !partitions.isEmpty else { return }
        let missing = partitions.filter { positions[$0] == nil }
        if !missing.isEmpty {
            let offsets = try admin.logOffsets(missing)
            let committed = try admin.committedOffsets(group: group, partitions: missing)
            let recent = try admin.offsetsForTimes(missing, timestampMs: Int64(Date().timeIntervalSince1970 * 1000) - 300_000)
            for tp in missing { positions[tp] = (committed[tp] ?? nil) ?? recent[tp] ?? offsets[tp]?.high ?? 0 }
        }
        // Past the committed position and past what is already waiting to be delivered.
        var readFrom = positions
        for entry in pending { readFrom[entry.tp] = max(readFrom[entry.tp] ?? 0, entry.offset + 1) }
        let ranges = try admin.newRanges(partitions, after: readFrom)
        try admin.read(ranges) { message in
            if let alert = try? JSONDecoder().decode(Alert.self, from: Data(message.value)) {
                pending.append((alert, message.topicPartition, message.offset))
            } else {
                logger.error("not an alert in \(Naming.alertsTopic); skipped", metadata: ["kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)"])
            }
        }
    }

    /// Sends what is pending: one by one while the rate limit allows, the rest as one digest in
    /// the last free slot; with no free slot, waits for one.
    func deliverPending() throws {
        while !pending.isEmpty && notifier.isRunning {
            // One message per incident: its lead alert's; the other services' alerts are in it.
            if let incident = pending[0].alert.incident, incident.lead != pending[0].alert.id {
                let entry = pending.removeFirst()
                positions[entry.tp] = max(positions[entry.tp] ?? 0, entry.offset + 1)
                try admin.commitOffsets(group: group, offsets: [entry.tp: entry.offset + 1])
                notifier.grouped.add(1, ordering: .relaxed)
                logger.info("alert grouped in its incident", metadata: ["notify.destination": "\(destination.name)", "alert.service": "\(entry.alert.service)",
                                                                        "incident.id": "\(incident.id)", "incident.origin": "\(incident.origin)"])
                continue
            }
            var take = 1
            if let limit = destination.rateLimit {
                let windowStart = Date().addingTimeInterval(-Double(limit.perMs) / 1000)
                sentAt.removeAll { $0 <= windowStart }
                let free = limit.count - sentAt.count
                if free <= 0 {
                    notifier.pause(ms: max(Int(sentAt[0].timeIntervalSince(windowStart) * 1000) + 1, 1))
                    continue
                }
                if free == 1 { take = pending.count }
            }
            let batch = Array(pending.prefix(take))
            guard send(batch.map(\.alert)) else { return }
            sentAt.append(Date())
            pending.removeFirst(batch.count)
            var commit: [TopicPartition: Int64] = [:]
            for entry in batch { commit[entry.tp] = max(commit[entry.tp] ?? 0, entry.offset + 1) }
            for (tp, offset) in commit { positions[tp] = offset }
            try admin.commitOffsets(group: group, offsets: commit)
        }
    }

    /// Delivers one message, retrying with backoff; false only when stopped meanwhile.
    func send(_ alerts: [Alert]) -> Bool {
        var attempt = 0
        var refusals = 0
        while notifier.isRunning {
            let outcome: DeliveryOutcome
            do {
                let request = try NotificationFormat.request(alerts, to: destination, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
                let response = try http.post(request.url, body: request.body, headers: request.headers)
                outcome = DeliveryOutcome.of(status: response.status, body: response.body, type: destination.type)
            } catch {
                outcome = .retry("\(error)")
            }
            let metadata: Logger.Metadata = ["notify.destination": "\(destination.name)", "notify.alerts": "\(alerts.count)",
                                             "notify.key": "\(NotificationFormat.idempotencyKey(alerts))"]
            switch outcome {
            case .delivered:
                notifier.delivered.add(alerts.count, ordering: .relaxed)
                logger.info(alerts.count == 1 ? "alert delivered" : "digest delivered", metadata: metadata)
                return true
            case .failed(let reason):
                refusals += 1
                logger.error("destination refused the alert", metadata: metadata.merging(["notify.reason": "\(reason)", "notify.attempt": "\(refusals)"]) { a, _ in a })
                if refusals >= 5 {
                    logger.error("giving up on this alert for this destination (it stays in \(Naming.alertsTopic))", metadata: metadata)
                    return true
                }
            case .retry(let reason):
                logger.warning("delivery failed; retrying", metadata: metadata.merging(["notify.reason": "\(reason)", "notify.attempt": "\(attempt)"]) { a, _ in a })
            }
            attempt += 1
            notifier.pause(ms: RetryPolicy.backoffMs(attempt: attempt, baseMs: 500, capMs: 60_000, random: Double.random(in: 0.5..<1)))
        }
        return false
    }
}
