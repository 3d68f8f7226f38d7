import Detector
import Foundation
import KafkaClient
import LogModel
import LogshipConfig
import Logging
import Synchronization

/// Partition changes a consumer's rebalance hooks saw, in order, for its loop to act on after
/// the poll that ran them (the hooks run on the loop's own thread, inside the poll).
final class AssignmentChanges: Sendable {
    enum Change: Sendable { case assigned([TopicPartition]), revoked([TopicPartition]) }
    private let changes = Mutex<[Change]>([])

    var hooks: RebalanceHooks {
        RebalanceHooks(onAssign: { partitions in self.changes.withLock { $0.append(.assigned(partitions)) } },
                       onRevoke: { partitions in self.changes.withLock { $0.append(.revoked(partitions)) } })
    }

    func take() -> [Change] { changes.withLock { changes in defer { changes = [] }; return changes } }
}

extension DetectorService {
    /// A transactional producer of one stage; its id names the stage and the process, so two
    /// detectors never share one (members are fenced by their group generation, KIP-447).
    func stageProducer(_ stage: String) throws -> KafkaProducer {
        var producerConfiguration = KafkaProducerConfiguration(kafka: kafka, maxInFlight: 10_000,
                                                               createTopicsWithPartitions: configuration.kafka.partitions,
                                                               replicationFactor: configuration.kafka.replicationFactor,
                                                               messageTimeoutMs: 15_000)
        producerConfiguration.transactionalID = "\(configuration.detector.group).\(stage).\(instance)"
        // A crashed member's open transaction holds back read_committed readers of its topics
        // until the coordinator aborts it: keep that short.
        producerConfiguration.kafka.properties["transaction.timeout.ms"] = "15000"
        return try KafkaProducer(producerConfiguration, logger: logger)
    }

    /// Creates one of the detector's own topics; a broker that refuses (librdkafka's mock
    /// cluster, an ACL) is logged: the topic must then be made beforehand.
    func createTopic(_ name: String, producer: KafkaProducer, partitions: Int, config: [String: String]) {
        do {
            try producer.createTopic(name, partitions: partitions, config: config)
        } catch {
            logger.warning("cannot create \(name); it must exist", metadata: ["kafka.error": "\(error)"])
        }
    }

    func stageConsumer(group: String, stage: String, changes: AssignmentChanges) throws -> KafkaConsumer {
        var consumerConfiguration = KafkaConsumerConfiguration(kafka: kafka, groupID: group, assignor: configuration.kafka.assignor)
        consumerConfiguration.idleFetchBackoffMs = 200
        consumerConfiguration.groupInstanceID = instanceID.map { "\(stage).\($0)" }
        return try KafkaConsumer(consumerConfiguration, hooks: changes.hooks)
    }

    /// Produces `records` and commits `offsets` as `consumer`'s member, in one transaction.
    func commit(_ records: [(topic: String, key: String, value: [UInt8])], offsets: [TopicPartition: Int64], consumer: KafkaConsumer,
                producer: KafkaProducer) throws {
        guard !records.isEmpty || !offsets.isEmpty else { return }
        let failures = Mutex(0)
        let started = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - started
            transactionSeconds.record(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        do {
            try producer.inTransaction(offsets: offsets, consumer: consumer) {
                for record in records {
                    try producer.enqueue(topic: record.topic, key: Array(record.key.utf8), value: record.value) { result in
                        if case .failure = result { failures.withLock { $0 += 1 } }
                    }
                }
                guard producer.flushBlocking(timeoutMs: 30_000), failures.withLock({ $0 }) == 0 else {
                    throw DetectorRoleError("Kafka did not acknowledge \(records.count) records")
                }
            }
            // The same positions once more as a plain commit of the member: Kafka already holds
            // these values from the transaction and fences this commit by generation too; a
            // broker that keeps no transactional commits (librdkafka's mock cluster answers
            // TxnOffsetCommit without storing it) needs it for the next owner of a partition to
            // resume here rather than at the log start. A failure here is not one of the step:
            // the transaction is committed; its positions are stored for the partitions' next
            // owner instead (StoredPositions).
            do { try consumer.commitBlocking(offsets) } catch {
                logger.debug("plain commit after the transaction failed", metadata: ["kafka.error": "\(error)"])
                StoredPositions.store(offsets, service: self, consumer: consumer, producer: producer)
            }
        } catch {
            health.lastError.withLock { $0 = "\(error)" }
            throw DetectorRoleError("records and positions not committed (\(error)); whoever reads these partitions next does it again")
        }
    }
}

/// The second stage: a member of `<detector.group>.judge` reading the partials of the services
/// the group gives it (keyed by service, so each service has one judge), merging them into exact
/// per-service windows, judging, and producing alerts — with snapshots of what it learnt and its
/// read positions — in one transaction. A partition it is given is taken over from the
/// snapshots in `logship.detector.state` and the partials after them.
final class JudgeLoop {
    let service: DetectorService
    let changes = AssignmentChanges()
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let engine: DetectorEngine
    var sent = Set<String>()
    /// The windows-topic partition of each service held.
    var partitionOf: [String: Int32] = [:]
    var owned = Set<TopicPartition>()
    /// Services taken over from a snapshot: their partials before its position are in it (the
    /// group's committed position may be behind it where a plain commit failed).
    var inSnapshotBefore: [String: Int64] = [:]
    /// Reclaimed positions: partials polled below them are not merged again.
    var floors: [TopicPartition: Int64] = [:]
    var alertsSent = 0

    struct Stored: Codable {
        var partition: Int32
        /// The input position the snapshot corresponds to: partials from here on are not in it.
        var offset: Int64
        var snapshot: DetectorEngine.ServiceSnapshot
    }

    init(service: DetectorService) throws {
        self.service = service
        consumer = try service.stageConsumer(group: service.judgeGroup, stage: "judge", changes: changes)
        producer = try service.stageProducer("judge")
        engine = DetectorEngine(service.configuration)
    }

    var logger: Logger { service.logger }

    func run(pollIntervalMs: Int) throws {
        try producer.initTransactions()
        service.createTopic(Naming.detectorWindowsTopic, producer: producer, partitions: service.configuration.kafka.partitions,
                            config: ["retention.ms": "86400000"])
        service.createTopic(Naming.detectorStateTopic, producer: producer, partitions: 1, config: ["cleanup.policy": "compact"])
        try learnSentAlerts()
        try consumer.subscribe([Naming.detectorWindowsTopic])
        defer { consumer.closeBlocking() }
        logger.info("detector started", metadata: ["kafka.group": "\(service.configuration.detector.group)",
                                                   "detector.known_alerts": "\(sent.count)"])
        while service.stopSignal.isRunning {
            if let reloaded = service.pendingConfiguration.withLock({ pending in defer { pending = nil }; return pending }) {
                let fresh = DetectorEngine(reloaded)
                engine.adoptRules(of: fresh)
                logger.notice("configuration reloaded: detector rules", metadata: ["detector.services_with_rules": "\(fresh.serviceSettings.count)"])
            }
            let messages = try consumer.pollBatch(maxMessages: 5_000, timeoutMs: Int32(pollIntervalMs))
            consumer.resumeIdlePartitions()
            let revoked = try applyChanges()
            try step(StoredPositions.above(&floors, messages.filter { !revoked.contains($0.topicPartition) }))
        }
        logger.info("detector stopped", metadata: ["detector.alerts_sent": "\(alertsSent)"])
    }

    /// Forgets the services of partitions given away; takes over the partitions given.
    func applyChanges() throws -> Set<TopicPartition> {
        var revoked = Set<TopicPartition>(), assigned = Set<TopicPartition>()
        for change in changes.take() {
            switch change {
            case .revoked(let partitions): revoked.formUnion(partitions); assigned.subtract(partitions)
            case .assigned(let partitions): assigned.formUnion(partitions); revoked.subtract(partitions)
            }
        }
        let gone = revoked.intersection(owned)
        if !gone.isEmpty {
            let partitions = Set(gone.map(\.partition))
            let names = partitionOf.filter { partitions.contains($0.value) }.map(\.key)
            engine.remove(names)
            for name in names {
                partitionOf[name] = nil
                inSnapshotBefore[name] = nil
            }
            owned.subtract(gone)
            logger.info("detector partitions given away", metadata: ["kafka.partitions": "\(gone.sorted().map(\.description))"])
        }
        StoredPositions.rebalanced(&floors, assigned: assigned, revoked: revoked, service: service, consumer: consumer, producer: producer)
        let new = assigned.subtracting(owned)
        if !new.isEmpty {
            try takeOver(new.sorted())
            owned.formUnion(new)
        }
        if !gone.isEmpty || !new.isEmpty {
            logger.info("detector judge partitions", metadata: ["kafka.partitions": "\(owned.sorted().map(\.description))"])
            let count = owned.count
            service.health.partitions.withLock { $0.judge = count }
        }
        return revoked
    }

    /// The snapshots of the services in `partitions`, then their partials from each snapshot's
    /// position to the committed one (sending off: those alerts went out with those positions).
    func takeOver(_ partitions: [TopicPartition]) throws {
        let admin = service.admin
        // What the previous owners sent (an alert derived again from their partials is theirs).
        try learnSentAlerts()
        let numbers = Set(partitions.map(\.partition))
        var stored: [String: Stored] = [:]
        let state = try admin.partitions(matching: "^" + NSRegularExpression.escapedPattern(for: Naming.detectorStateTopic) + "$")
        let decoder = JSONDecoder()
        try admin.read(try admin.logOffsets(state).filter { $0.value.low < $0.value.high }.mapValues { $0.low..<$0.high }) { message in
            guard let key = message.key.map({ String(decoding: $0, as: UTF8.self) }) else { return }
            guard !message.value.isEmpty, let record = try? decoder.decode(Stored.self, from: Data(message.value)) else { stored[key] = nil; return }
            stored[key] = record
        }
        stored = stored.filter { numbers.contains($0.value.partition) }
        engine.remove(stored.keys)
        engine.restore(stored.mapValues(\.snapshot))
        for (name, record) in stored {
            partitionOf[name] = record.partition
            inSnapshotBefore[name] = record.offset
        }
        let committed = try admin.committedOffsets(group: service.judgeGroup, partitions: partitions)
        let offsets = try admin.logOffsets(partitions)
        // (A broker without offsets-for-times, such as librdkafka's mock cluster: from the snapshots only.)
        let recent = (try? admin.offsetsForTimes(partitions, timestampMs: Int64(Date().timeIntervalSince1970 * 1000) - service.replayMs)) ?? [:]
        var ranges: [TopicPartition: Range<Int64>] = [:]
        for tp in partitions {
            guard let (low, _) = offsets[tp] else { continue }
            let end = max((committed[tp] ?? nil) ?? low, low)
            // From the oldest snapshot of the partition's services, or the replay period for
            // those without one (the whole retained partition where the broker cannot tell).
            let snapshotsFrom = stored.values.filter { $0.partition == tp.partition }.map(\.offset).min()
            let from = max(min(snapshotsFrom ?? end, recent[tp] ?? low, end), low)
            if from < end { ranges[tp] = from..<end }
        }
        var replayed = 0, rederived = 0
        var batch: [WindowPartial] = []
        func flush() {
            rederived += engine.merge(batch).count
            batch = []
        }
        try admin.read(ranges) { message in
            guard let partial = try? decoder.decode(WindowPartial.self, from: Data(message.value)) else { return }
            if let record = stored[partial.service], message.offset < record.offset { return }  // in its snapshot
            partitionOf[partial.service] = message.partition
            batch.append(partial)
            replayed += 1
            if batch.count >= 1_000 { flush() }
        }
        flush()
        logger.info("detector partitions taken over", metadata: [
            "kafka.partitions": "\(partitions.map(\.description))", "detector.snapshots": "\(stored.count)",
            "detector.partials_replayed": "\(replayed)", "detector.alerts_rederived": "\(rederived)",
        ])
    }

    func step(_ messages: [KafkaMessage]) throws {
        var partials: [WindowPartial] = []
        var positions: [TopicPartition: Int64] = [:]
        let decoder = JSONDecoder()
        for message in messages {
            positions[message.topicPartition] = message.offset + 1
            guard let partial = try? decoder.decode(WindowPartial.self, from: Data(message.value)) else {
                logger.error("not a window partial in \(Naming.detectorWindowsTopic); skipped",
                             metadata: ["kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)"])
                continue
            }
            if let from = inSnapshotBefore[partial.service] {
                if message.offset < from { continue }  // already in the snapshot it was restored from
                inSnapshotBefore[partial.service] = nil
            }
            partitionOf[partial.service] = message.partition
            partials.append(partial)
        }
        let alerts = partials.isEmpty ? [] : engine.merge(partials)
        let fresh = alerts.filter { !sent.contains($0.id) }
        guard !fresh.isEmpty || !positions.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var records = try fresh.map { (topic: Naming.alertsTopic, key: $0.service, value: Array(try encoder.encode($0))) }
        // What the models learnt goes with the positions it corresponds to (every 10 windows a
        // service); the judge that takes the service over resumes from there.
        if !positions.isEmpty {
            for (name, snapshot) in engine.snapshotsDue(everyWindows: 10) {
                guard let partition = partitionOf[name], let offset = positions[TopicPartition(Naming.detectorWindowsTopic, partition)]
                    ?? committedPosition(partition) else { continue }
                records.append((Naming.detectorStateTopic, name, Array(try encoder.encode(Stored(partition: partition, offset: offset, snapshot: snapshot)))))
            }
        }
        try service.commit(records, offsets: positions, consumer: consumer, producer: producer)
        let late = Int64(engine.lateEvents.values.reduce(0, +))
        service.health.counters.withLock {
            $0["alerts", default: 0] += Int64(fresh.count)
            $0["late"] = late
        }
        if !partials.isEmpty { service.health.scores.withLock { $0 = engine.latestScores() } }
        for alert in fresh {
            sent.insert(alert.id)
            logger.notice("alert", metadata: ["alert.rule": "\(alert.rule)", "alert.service": "\(alert.service)",
                                              "alert.state": "\(alert.state)", "alert.severity": "\(alert.severity)"]
                          .merging(alert.incident.map { ["incident.origin": "\($0.origin)"] } ?? [:]) { a, _ in a })
        }
        alertsSent += fresh.count
    }

    /// Adds the alerts in `logship.alerts` of the replay period (plus two suppress windows) to those sent.
    func learnSentAlerts() throws {
        let since = Int64(Date().timeIntervalSince1970 * 1000) - 2 * engine.settings.suppressMs - service.replayMs
        sent.formUnion(try DetectorService.alerts(admin: service.admin, sinceMs: since).map(\.id))
    }

    /// The consumer's position in a windows-topic partition (for a snapshot of a service whose
    /// partition had nothing in this step).
    func committedPosition(_ partition: Int32) -> Int64? {
        let tp = TopicPartition(Naming.detectorWindowsTopic, partition)
        return ((try? consumer.committed([tp])) ?? [:])[tp] ?? nil
    }
}
