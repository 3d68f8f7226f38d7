import LogshipConfig
import Foundation
import KafkaClient
import LogModel
import Logging
import Synchronization
import Telemetry

/// The edge agent: tails the configured files and ships every record to its service's topic,
/// at least once. The registry advances only over records Kafka acknowledged; when Kafka is
/// down, the in-flight bound is reached and reading pauses: the files are the buffer.
public final class LogAgent: @unchecked Sendable {
    public let stats = AgentStats()
    private let configuration: LogshipConfiguration
    private let pipelines: [InputPipeline]
    private let producer: KafkaProducer
    private let registry: Registry
    private let saver: RegistrySaver
    private let logger: Logger
    private let running = Atomic<Bool>(true)
    private let clock: @Sendable () -> Int64
    private var tailers: [String: FileTailer] = [:]
    private var lastScan: Int64 = 0
    private var lastSave: Int64 = 0
    private var recovered = false
    private var heartbeat: HeartbeatPublisher?
    public static let version = "0.1.0"

    public init(configuration: LogshipConfiguration, logger: Logger = Logger(label: "logship.agent"),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        let agent = configuration.agent
        guard !agent.inputs.isEmpty else { throw AgentError("agent.inputs is empty: nothing to tail") }
        let host = agent.hostName ?? LogAgent.machineHostName()
        pipelines = try agent.inputs.enumerated().map { index, input in
            try InputPipeline(input: input, index: index, host: host,
                              allowDebug: configuration.services[input.service]?.debug ?? false,
                              maskPatterns: agent.maskPatterns, pythonFormat: input.pythonFormat)
        }
        registry = try Registry(directory: agent.dataDir)
        saver = RegistrySaver(url: registry.url, metricsDirectory: agent.dataDir)
        let ledger = DeliveryLedger()
        let counts = pipelines.map { _ in DeliveryCounts() }
        let retries = RetryQueue()
        let paths = pipelines.map(\.patterns)
        self.ledger = ledger
        deliveryCounts = counts
        self.retries = retries
        topics = pipelines.map { _ in nil }
        producer = try KafkaProducer(KafkaProducerConfiguration(
            kafka: KafkaConfiguration(brokers: configuration.kafka.brokers, clientID: "logship-agent-\(host)",
                                      properties: configuration.kafka.properties),
            maxInFlight: agent.maxInFlight,
            createTopicsWithPartitions: configuration.kafka.partitions,
            replicationFactor: configuration.kafka.replicationFactor,
            messageTimeoutMs: 0), logger: logger) { token, failure in
                let entry = ledger.close(token)
                guard let failure else {
                    counts[entry.pipeline].sent.add(1, ordering: .relaxed)
                    entry.tracker.ack(entry.sequence)
                    return
                }
                if failure.error.isPermanentForMessage {
                    counts[entry.pipeline].failed.add(1, ordering: .relaxed)
                    logger.error("event rejected by Kafka; skipped",
                                 metadata: ["kafka.error": "\(failure.error)", "agent.paths": "\(paths[entry.pipeline])"])
                    entry.tracker.ack(entry.sequence)
                } else {
                    // Unknown topic, broker gone: send it again; the registry stays behind it meanwhile.
                    retries.append(Outgoing(pipeline: entry.pipeline, key: failure.key ?? [], value: failure.value,
                                            tracker: entry.tracker, sequence: entry.sequence))
                }
            }
        let stats = self.stats
        let producer = self.producer
        heartbeat = HeartbeatPublisher(
            producer: producer, id: agent.componentID ?? "agent@\(host)", role: "agent", host: host, version: Self.version,
            intervalMs: configuration.coordinator.heartbeatIntervalMs, logger: logger) {
            let c = stats.snapshot
            return (["lines_read": c.linesRead, "events_sent": c.eventsSent, "events_failed": c.eventsFailed,
                     "events_dropped": c.droppedDebug + c.droppedEmpty, "files_open": c.filesOpen,
                     "queue_depth": Int64(producer.inFlight)], [], nil)
        }
    }

    /// Asks `run()` to stop reading, flush and save. Safe from a signal handler's queue.
    public func stop() { running.store(false, ordering: .releasing) }

    public var producerInFlight: Int { producer.inFlight }

    /// Runs until `stop()`; then ships what is pending (bounded by `agent.shutdown_timeout`)
    /// and saves the registry. Blocking: call it from a dedicated thread.
    public func run() throws {
        heartbeat?.start()
        saver.start()
        let shipper = Thread { [self] in shipLoop() }
        shipper.name = "logship-ship"
        shipper.start()
        defer {
            // After shutdown() (which drained and ended the shipper) this changes nothing; when
            // the loop throws, it lets the shipper end.
            running.store(false, ordering: .releasing)
            shipQueue.close()
            saver.stop()
        }
        logger.info("agent started", metadata: ["agent.inputs": "\(pipelines.count)", "agent.registry": "\(registry.url.path)"])
        while running.load(ordering: .acquiring) {
            let now = clock()
            if now - lastScan >= 1_000 {
                scan(now: now)
                lastScan = now
            }
            var didRead = false
            for tailer in tailers.values where running.load(ordering: .relaxed) {
                didRead = pollTailer(tailer, now: now) || didRead
            }
            retireRotated(now: now)
            handOff()
            collectDeliveryCounts()
            if now - lastSave >= 1_000 {
                try saveRegistry()
                lastSave = now
            }
            if !didRead { Thread.sleep(forTimeInterval: 0.05) }
        }
        try shutdown()
    }

    private func pollTailer(_ tailer: FileTailer, now: Int64) -> Bool {
        tailer.poll(now: now, registry: registry, stats: stats) { record, identity, tracker in
            self.ship(record, identity: identity, tracker: tracker, path: tailer.path, pipeline: tailer.input, now: now)
        }
    }

    // MARK: Shipping
    // The reading thread tails, splits and joins lines into records and registers each with its
    // file's tracker (read order); the shipping thread turns them into events and produces them,
    // in that same order. Two threads: the pipeline's CPU no longer waits for reading, nor
    // reading for the pipeline.

    /// A record read, on its way to the shipping thread.
    struct Shipment {
        var record: Record
        var sequence: Int
        var source: Source
        var now: Int64
    }

    /// Where records come from, shared by the records of one file (one reference per record
    /// to count, not four).
    final class Source: @unchecked Sendable {
        let identity: String
        let path: String
        let tracker: AckTracker
        let pipeline: InputPipeline

        init(identity: String, path: String, tracker: AckTracker, pipeline: InputPipeline) {
            self.identity = identity
            self.path = path
            self.tracker = tracker
            self.pipeline = pipeline
        }

        func isSame(identity: String, path: String, tracker: AckTracker, pipeline: InputPipeline) -> Bool {
            self.tracker === tracker && self.pipeline === pipeline && self.identity == identity && self.path == path
        }
    }

    private static let batchSize = 256
    /// Two batches queued at most (plus one being filled and one being shipped).
    private let shipQueue = ShipQueue<Shipment>(capacity: 2)
    private let shipperDone = DispatchSemaphore(value: 0)
    /// The batch the reading thread is filling, and the source of its last record.
    private var batch: [Shipment] = []
    private var lastSource: Source?

    /// Reading thread: registers the record (its place in the file) and queues it for shipping.
    private func ship(_ record: Record, identity: String, tracker: AckTracker, path: String, pipeline: InputPipeline, now: Int64) {
        let sequence = tracker.register(endOffset: record.endOffset)
        let source: Source
        if let last = lastSource, last.isSame(identity: identity, path: path, tracker: tracker, pipeline: pipeline) {
            source = last
        } else {
            source = Source(identity: identity, path: path, tracker: tracker, pipeline: pipeline)
            lastSource = source
        }
        batch.append(Shipment(record: record, sequence: sequence, source: source, now: now))
        if batch.count >= Self.batchSize { handOff() }
    }

    /// Reading thread: passes the batch filled so far to the shipping thread (waits while two
    /// are queued: reading pauses when shipping is behind).
    private func handOff() {
        guard !batch.isEmpty else { return }
        shipQueue.put(batch)
        batch = []
        batch.reserveCapacity(Self.batchSize)
    }

    /// The shipping thread: events in read order, and the retries of failed deliveries, until
    /// the queue is closed and empty.
    private func shipLoop() {
        while true {
            resendFailed()
            guard let shipments = shipQueue.take(timeout: 0.05) else {
                if shipQueue.isFinished { break }
                continue
            }
            shipments.withUnsafeBufferPointer { shipments in
                for index in shipments.indices { deliver(shipments[index]) }
            }
        }
        shipperDone.signal()
    }

    /// The event being shipped, encoded (reused for every event: only the shipping thread uses it).
    private let encoded = OutputBuffer(capacity: 4096)
    private let ledger: DeliveryLedger
    private let deliveryCounts: [DeliveryCounts]
    private let retries: RetryQueue
    private var topics: [ProducerTopic?]

    /// Shipping thread: parse, mask, filter, enrich, encode; produce or drop.
    private func deliver(_ item: Shipment) {
        let source = item.source, pipeline = source.pipeline
        switch pipeline.process(item.record, fileIdentity: source.identity, filePath: source.path, nowMillis: item.now,
                                stats: stats, into: encoded) {
        case .drop(let reason):
            stats.add(reason, 1, service: pipeline.service)
            source.tracker.ack(item.sequence)
        case .ship(var key):
            let entry = DeliveryLedger.Entry(tracker: source.tracker, sequence: item.sequence, pipeline: pipeline.index)
            key.withUTF8 { key in
                send(entry, key: UnsafeRawBufferPointer(key), value: encoded.bytes)
            }
        }
    }

    /// One event whose delivery failed in a way a retry can fix, with what is needed to send it again.
    struct Outgoing: Sendable {
        var pipeline: Int
        var key: [UInt8]
        var value: [UInt8]
        var tracker: AckTracker
        var sequence: Int
    }

    private func send(_ entry: DeliveryLedger.Entry, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let pipeline = pipelines[entry.pipeline]
        let token = ledger.open(entry)
        do {
            if topics[entry.pipeline] == nil { topics[entry.pipeline] = try producer.topic(named: pipeline.topic) }
            // Back-pressure: wait for acknowledgements instead of queueing without bound. When
            // stopping, the event stays unacknowledged and is read again on the next start. (Never
            // an unconditional wait: the heartbeat takes slots too, and with Kafka down a slot
            // seen free could be gone, and the wait endless.)
            while try !producer.enqueue(topics[entry.pipeline]!, key: key, value: value, token: token, waitForRoom: false) {
                guard running.load(ordering: .relaxed) else {
                    _ = ledger.close(token)
                    return
                }
                _ = producer.waitForRoom(timeoutMs: 50)
            }
        } catch {
            _ = ledger.close(token)
            logger.warning("cannot queue event; will retry", metadata: ["kafka.error": "\(error)"])
            retries.append(Outgoing(pipeline: entry.pipeline, key: Array(key), value: Array(value),
                                    tracker: entry.tracker, sequence: entry.sequence))
        }
    }

    private func resendFailed() {
        let pending = retries.takeAll()
        for item in pending where running.load(ordering: .relaxed) {
            item.key.withUnsafeBytes { key in
                item.value.withUnsafeBytes { value in
                    send(DeliveryLedger.Entry(tracker: item.tracker, sequence: item.sequence, pipeline: item.pipeline),
                         key: key, value: value)
                }
            }
        }
    }

    /// Moves the delivery counts of the report thread into the agent's stats.
    private func collectDeliveryCounts() {
        for (pipeline, counts) in zip(pipelines, deliveryCounts) {
            var delta = AgentStats.Counters()
            delta.eventsSent = counts.sent.exchange(0, ordering: .relaxed)
            delta.eventsFailed = counts.failed.exchange(0, ordering: .relaxed)
            if delta.eventsSent != 0 || delta.eventsFailed != 0 { stats.add(delta, service: pipeline.service) }
        }
    }

    // MARK: Files

    private func scan(now: Int64) {
        var seen = Set<String>()
        for pipeline in pipelines {
            for pattern in pipeline.patterns {
                for path in Glob.expand(pattern) {
                    var st = stat()
                    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                    let key = "\(st.st_dev):\(st.st_ino)"
                    seen.insert(key)
                    if let tailer = tailers[key] {
                        if tailer.path != path { tailer.relocate(to: path) }
                        continue
                    }
                    // start_at: end applies to files present at start-up; files that appear later are new data.
                    let atEnd = pipeline.startAtEnd && !recovered
                    guard let tailer = FileTailer(path: path, input: pipeline, registry: registry, startAtEnd: atEnd,
                                                  maxLineBytes: configuration.agent.maxLineBytes, now: now) else { continue }
                    tailers[key] = tailer
                    logger.debug("tailing", metadata: ["log.file.path": "\(path)", "log.offset": "\(tailer.readOffset)"])
                }
            }
        }
        for (key, tailer) in tailers where !seen.contains(key) && !tailer.rotatedAway {
            tailer.rotatedAway = true
            stats.add(\.rotations, 1)
            logger.debug("file rotated or deleted; reading it to its end", metadata: ["log.file.path": "\(tailer.path)"])
        }
        if !recovered {
            recoverRotatedWhileDown(now: now)
            recovered = true
        }
        stats.set(\.filesOpen, Int64(tailers.count))
    }

    /// Files renamed while the agent was down still hold unshipped lines: find them by inode
    /// and fingerprint beside their old path and read them to the end.
    private func recoverRotatedWhileDown(now: Int64) {
        let open = Set(tailers.values.compactMap(\.identity))
        for entry in registry.entries.values where !open.contains(entry.identity) {
            let directory = (entry.path as NSString).deletingLastPathComponent
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory),
                  let pipeline = pipelines.first(where: { p in p.patterns.contains { Glob.matches($0, entry.path) } }) else { continue }
            for name in names {
                let path = directory + "/" + name
                var st = stat()
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) > entry.offset else { continue }
                let key = "\(st.st_dev):\(st.st_ino)"
                guard tailers[key] == nil,
                      let tailer = FileTailer(path: path, input: pipeline, registry: registry, startAtEnd: false,
                                              maxLineBytes: configuration.agent.maxLineBytes, now: now),
                      tailer.identity == entry.identity else { continue }
                tailer.rotatedAway = true
                tailers[key] = tailer
                logger.info("resuming a file rotated while the agent was down",
                            metadata: ["log.file.path": "\(path)", "log.offset": "\(tailer.readOffset)"])
                break
            }
        }
    }

    /// A rotated file is released once read to its end, quiet for 2 s, and fully acknowledged.
    private func retireRotated(now: Int64) {
        for (key, tailer) in tailers where tailer.rotatedAway && tailer.bytesBehind == 0 && now - tailer.lastGrowthAt >= 2_000 {
            tailer.finish(now: now, stats: stats) { record, identity, tracker in
                self.ship(record, identity: identity, tracker: tracker, path: tailer.path, pipeline: tailer.input, now: now)
            }
            guard tailer.isDrained else { continue }
            if let entry = tailer.registryEntry { registry.update(entry) }
            tailers.removeValue(forKey: key)
        }
    }

    /// The agent's metrics in Prometheus text format (served on agent.metrics_listen).
    public func metricsText() -> String {
        AgentMetrics.render(stats, files: fileBacklog.withLock { $0 }, queueDepth: producer.inFlight)
    }

    /// Per-file backlog as of the last registry save (read by the metrics endpoint's thread).
    private let fileBacklog = Mutex<[(path: String, behind: Int64)]>([])

    /// Brings the registry up to what Kafka acknowledged and writes it, with the metrics
    /// textfile: by the saver's thread while running, here and now on shutdown.
    private func saveRegistry(synchronously: Bool = false) throws {
        for tailer in tailers.values {
            if let entry = tailer.registryEntry { registry.update(entry) }
        }
        let cutoff = Date().timeIntervalSince1970 - 7 * 86_400
        for entry in registry.entries.values where entry.updated < cutoff { registry.remove(entry.identity) }
        let backlog = tailers.values.map { (path: $0.path, behind: $0.bytesBehind) }
        fileBacklog.withLock { $0 = backlog }
        if synchronously {
            try registry.save()
            AgentMetrics.write(metricsText(), to: configuration.agent.dataDir)
        } else {
            try saver.submit(Array(registry.entries.values), metrics: metricsText())
        }
    }

    private func shutdown() throws {
        let now = clock()
        for tailer in tailers.values {
            tailer.flushPending(now: now) { record, identity, tracker in
                self.ship(record, identity: identity, tracker: tracker, path: tailer.path, pipeline: tailer.input, now: now)
            }
        }
        // What was read goes to Kafka if there is room; with none (Kafka down) it stays
        // unacknowledged and is read again on the next start.
        handOff()
        shipQueue.close()
        shipperDone.wait()
        heartbeat?.stop()
        let flushed = producer.flushBlocking(timeoutMs: Int32(configuration.agent.shutdownTimeoutMs))
        if !flushed {
            logger.warning("Kafka did not acknowledge everything before the shutdown deadline; the rest is re-read on the next start",
                           metadata: ["kafka.in_flight": "\(producer.inFlight)"])
        }
        collectDeliveryCounts()
        saver.stop()
        try saveRegistry(synchronously: true)
        logger.info("agent stopped", metadata: ["agent.events_sent": "\(stats.snapshot.eventsSent)"])
    }

    static func machineHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}

/// Events whose delivery failed in a way a retry can fix; the agent loop sends them again.
final class RetryQueue: Sendable {
    private let items = Mutex<[LogAgent.Outgoing]>([])

    func append(_ item: LogAgent.Outgoing) { items.withLock { $0.append(item) } }

    func takeAll() -> [LogAgent.Outgoing] {
        items.withLock { items in
            defer { items.removeAll() }
            return items
        }
    }
}
