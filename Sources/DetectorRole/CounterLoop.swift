import Detector
import Foundation
import KafkaClient
import LogModel
import LogshipConfig
import Logging
import Synchronization

/// The first stage: a member of `detector.group` reading the `logs.*` partitions the group gives
/// it, turning each step's events into partial window counts per (service, partition) on
/// `logship.detector.windows`, with its read positions, in one transaction. It keeps nothing a
/// restart would miss: what it counted is in the partials.
final class CounterLoop {
    let service: DetectorService
    let changes = AssignmentChanges()
    let consumer: KafkaConsumer
    let producer: KafkaProducer
    let counter: PartialCounter
    /// The largest event time sent per source, the services seen in it, and the sources reported idle.
    var watermarks: [String: Int64] = [:]
    var servicesOf: [String: Set<String>] = [:]
    var idle: Set<String> = []
    var partitionCounts: [String: Int] = [:]
    var owned = Set<TopicPartition>()
    /// Reclaimed positions: records polled below them are not counted again.
    var floors: [TopicPartition: Int64] = [:]
    /// Since when each source has been read to its end with nothing new.
    var quietSince: [String: ContinuousClock.Instant] = [:]
    let idleAfter: Duration
    var countsRefreshed = ContinuousClock.now - .seconds(3_600)

    init(service: DetectorService) throws {
        self.service = service
        consumer = try service.stageConsumer(group: service.configuration.detector.group, stage: "counter", changes: changes)
        producer = try service.stageProducer("counter")
        let settings = DetectorSettings(service.configuration.detector)
        let services = service.configuration.services.values.compactMap(\.rules[DetectorSettings.newPatternRule]?["enabled"])
        counter = PartialCounter(windowMs: settings.windowMs, slowNs: settings.slowMs * 1_000_000,
                                 shapePatterns: !settings.disabledRules.contains(DetectorSettings.newPatternRule) || services.contains { $0 != 0 })
        idleAfter = .milliseconds(max(settings.latenessMs, 1_000))
    }

    func run(pollIntervalMs: Int) throws {
        try producer.initTransactions()
        service.createTopic(Naming.detectorWindowsTopic, producer: producer, partitions: service.configuration.kafka.partitions,
                            config: ["retention.ms": "86400000"])
        try consumer.subscribe(["^logs\\..*"])
        defer { consumer.closeBlocking() }
        while service.stopSignal.isRunning {
            let messages = try consumer.pollBatch(maxMessages: 20_000, timeoutMs: Int32(pollIntervalMs))
            consumer.resumeIdlePartitions()
            var revoked = Set<TopicPartition>(), assigned = Set<TopicPartition>()
            let taken = changes.take()
            for change in taken {
                switch change {
                case .revoked(let partitions): revoked.formUnion(partitions); assigned.subtract(partitions); owned.subtract(partitions)
                case .assigned(let partitions): revoked.subtract(partitions); assigned.formUnion(partitions); owned.formUnion(partitions)
                }
            }
            StoredPositions.rebalanced(&floors, assigned: assigned, revoked: revoked, service: service, consumer: consumer, producer: producer)
            if !taken.isEmpty {
                service.logger.info("detector counter partitions", metadata: ["kafka.partitions": "\(owned.sorted().map(\.description))"])
                let count = owned.count
                service.health.partitions.withLock { $0.counter = count }
            }
            try step(StoredPositions.above(&floors, messages.filter { !revoked.contains($0.topicPartition) }))
        }
    }

    func step(_ messages: [KafkaMessage]) throws {
        var events: [(source: String, event: DetectorEvent)] = []
        var positions: [TopicPartition: Int64] = [:]
        for message in messages {
            positions[message.topicPartition] = message.offset + 1
            guard Naming.service(ofTopic: message.topic) != nil, let event = Backtest.decode(message.value) else { continue }
            events.append(("\(message.topic)/\(message.partition)", event))
        }
        try refreshPartitionCounts()
        var partials = counter.count(events, previous: watermarks) { self.partitionCounts[Self.topic(of: $0)] ?? 1 }
        // Sources read to their end with nothing new for the allowed lateness (wall clock): idle,
        // so they do not hold back their services' windows (reported once, until they have
        // events again; what comes later is as late as it would be to a single detector).
        let active = Set(partials.map(\.source))
        let lag = consumer.lag()
        let now = ContinuousClock.now
        for tp in (try? consumer.assignment()) ?? [] where Naming.service(ofTopic: tp.topic) != nil {
            let source = "\(tp.topic)/\(tp.partition)"
            guard !active.contains(source), (lag[tp] ?? 1) == 0 else { quietSince[source] = nil; continue }
            let since = quietSince[source] ?? now
            quietSince[source] = since
            guard !idle.contains(source), now - since >= idleAfter else { continue }
            for name in servicesOf[source] ?? [Naming.service(ofTopic: tp.topic)!] {
                partials.append(WindowPartial(service: name, source: source, partitions: partitionCounts[tp.topic] ?? 1,
                                              watermarkMs: watermarks[source] ?? .min, idle: true, windows: []))
            }
        }
        for source in active { quietSince[source] = nil }
        guard !partials.isEmpty || !positions.isEmpty else { return }
        let encoder = JSONEncoder()
        let records = try partials.map { (topic: Naming.detectorWindowsTopic, key: $0.service, value: Array(try encoder.encode($0))) }
        try service.commit(records, offsets: positions, consumer: consumer, producer: producer)
        service.logger.debug("detector counter step", metadata: ["detector.events": "\(events.count)", "detector.partials": "\(partials.count)",
                                                               "kafka.positions": "\(positions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"])
        for partial in partials {
            if partial.idle {
                idle.insert(partial.source)
            } else {
                idle.remove(partial.source)
                watermarks[partial.source] = partial.watermarkMs
                servicesOf[partial.source, default: []].insert(partial.service)
            }
        }
        service.health.counters.withLock { $0["events", default: 0] += Int64(events.count) }
    }

    static func topic(of source: String) -> String { String(source[..<(source.lastIndex(of: "/") ?? source.endIndex)]) }

    func refreshPartitionCounts() throws {
        guard ContinuousClock.now - countsRefreshed > .seconds(10) else { return }
        countsRefreshed = .now
        for topic in try service.admin.metadata().topics where Naming.service(ofTopic: topic.name) != nil {
            partitionCounts[topic.name] = topic.partitions.count
        }
    }
}
