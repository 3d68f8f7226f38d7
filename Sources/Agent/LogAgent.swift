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
public final class LogAgent: Sendable {
    public let stats = AgentStats()
    public let metrics: RoleMetrics
    let configuration: AgentConfiguration
    /// The inputs at start (the reading thread's `AgentReader` holds those in force).
    let initialPipelines: [InputPipeline]
    /// Pipelines of a reload, waiting for the reading thread to adopt them.
    let pendingPipelines = Mutex<[InputPipeline]?>(nil)
    let host: String
    let producer: KafkaProducer
    /// registry.json in agent.data_dir (loaded by the reading thread; checked readable at init).
    let registryDirectory: String
    let registryURL: URL
    let saver: RegistrySaver
    let logger: Logger
    let stopSignal = StopSignal()
    let clock: @Sendable () -> Int64
    let heartbeat: HeartbeatPublisher

    // Shipping (LogAgent+Shipping.swift): the reading thread hands records over in batches; the
    // shipping thread alone uses what follows the queue.
    static let batchSize = 256
    /// Two batches queued at most (plus one being filled and one being shipped).
    let shipQueue = ShipQueue<Shipment>(capacity: 2)
    let shipperDone = DispatchSemaphore(value: 0)
    let ledger: DeliveryLedger
    let retries: RetryQueue
    /// Record buffers the shipping thread is done with, on their way back to the reading thread.
    let recordBuffers = RecordBuffers()

    public static let version = logshipVersion

    /// From the whole file: the agent's sections, checked (agent.inputs not empty).
    public convenience init(configuration: LogshipConfiguration, logger: Logger = Logger(label: "logship.agent"),
                            clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws {
        try self.init(configuration: AgentConfiguration(configuration), logger: logger, clock: clock)
    }

    public init(configuration: AgentConfiguration, logger: Logger = Logger(label: "logship.agent"),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }) throws {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        let metrics = RoleMetrics(role: "agent", version: Self.version)
        self.metrics = metrics
        let agent = configuration.agent
        let host = agent.hostName ?? LogAgent.machineHostName()
        self.host = host
        initialPipelines = try Self.pipelines(of: configuration, host: host)
        registryDirectory = agent.dataDir
        registryURL = try Registry(directory: agent.dataDir).url
        saver = RegistrySaver(url: registryURL, metricsDirectory: agent.dataDir)
        let ledger = DeliveryLedger()
        let retries = RetryQueue()
        let latency = metrics.tallyHistogram("logship_agent_delivery_latency_seconds",
                                        help: "Seconds from reading a record to Kafka's acknowledgement.",
                                        buckets: RoleMetrics.latencyBuckets)
        self.ledger = ledger
        self.retries = retries
        producer = try KafkaProducer(KafkaProducerConfiguration(
            kafka: KafkaConfiguration(configuration.kafka, clientID: "logship-agent-\(host)"),
            maxInFlight: agent.maxInFlight,
            createTopicsWithPartitions: configuration.kafka.partitions,
            replicationFactor: configuration.kafka.replicationFactor,
            messageTimeoutMs: 0), logger: logger,
            onTokenDelivery: DeliveryBookkeeping(ledger: ledger, retries: retries, latency: latency, clock: clock, logger: logger).handle)
        let stats = self.stats
        let producer = self.producer
        heartbeat = HeartbeatPublisher(
            producer: producer, id: agent.componentID ?? "agent@\(host)", role: "agent", host: host, version: Self.version,
            intervalMs: configuration.coordinator.heartbeatIntervalMs, logger: logger) {
            let c = stats.snapshot
            return HeartbeatPublisher.State(counters: [
                "lines_read": c.linesRead, "events_sent": c.eventsSent, "events_failed": c.eventsFailed,
                "events_dropped": c.droppedDebug + c.droppedEmpty, "files_open": c.filesOpen,
                "queue_depth": Int64(producer.inFlight)])
        }
    }

    /// Asks `run()` to stop reading, flush and save. Safe from a signal handler's queue.
    public func stop() { stopSignal.stop() }

    public var producerInFlight: Int { producer.inFlight }

    /// Runs until `stop()`; then ships what is pending (bounded by `agent.shutdown_timeout`)
    /// and saves the registry. Blocking: call it from a dedicated thread.
    public func run() throws {
        let reader = try AgentReader(agent: self)
        heartbeat.start()
        saver.start()
        let shipper = Thread { [self] in shipLoop() }
        shipper.name = "logship-ship"
        shipper.start()
        defer {
            // After shutdown() (which drained and ended the shipper) this changes nothing; when
            // the loop throws, it lets the shipper end.
            stopSignal.stop()
            shipQueue.close()
            saver.stop()
        }
        logger.info("agent started", metadata: ["agent.inputs": "\(reader.pipelines.count)", "agent.registry": "\(registryURL.path)"])
        try reader.loop()
        try reader.shutdown()
    }

    /// Brings the registry's series up to the agent's counters (before a scrape or a textfile write).
    public func publishMetrics() {
        AgentMetrics.publish(stats, files: fileBacklog.withLock { $0 }, queueDepth: producer.inFlight, into: metrics)
    }

    /// The agent's metrics in Prometheus text format (served on agent.metrics_listen).
    public func metricsText() -> String {
        publishMetrics()
        return metrics.render()
    }

    /// Per-file backlog as of the last registry save (read by the metrics endpoint's thread).
    let fileBacklog = Mutex<[(path: String, behind: Int64)]>([])

    static func machineHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}

/// What only the agent's reading thread uses, owned by its loop: the files being tailed, the
/// registry, the inputs in force, the batch being filled. Not Sendable: made in `run()` on the
/// reading thread, it never leaves it; the agent's shared parts are reached through `agent`.
final class AgentReader {
    let agent: LogAgent
    let registry: Registry
    /// The inputs in force; replaced when a reload is adopted.
    var pipelines: [InputPipeline]
    /// Pipelines a reload replaced: their delivery reports are still collected.
    var retiredPipelines: [InputPipeline] = []
    var tailers: [String: FileTailer] = [:]
    var lastScan: Int64 = 0
    var lastSave: Int64 = 0
    var recovered = false
    /// Hands the heap a burst freed back to the system once the agent is quiet.
    lazy var idleTrim = IdleTrim(now: agent.clock())
    /// The batch being filled, and the source of its last record.
    var batch: [LogAgent.Shipment] = []
    var lastSource: LogAgent.Source?

    init(agent: LogAgent) throws {
        self.agent = agent
        registry = try Registry(directory: agent.registryDirectory)
        pipelines = agent.initialPipelines
    }

    var configuration: AgentConfiguration { agent.configuration }
    var logger: Logger { agent.logger }
    var stats: AgentStats { agent.stats }
    var stopSignal: StopSignal { agent.stopSignal }

    func loop() throws {
        let clock = agent.clock
        // Start-up is over (configuration, producer, metrics server, threads): its code pages go,
        // and again when the warm-up is over (README, "Pipeline speed", memory).
        IdleTrim.releaseCodePages()
        while stopSignal.isRunning {
            let now = clock()
            if idleTrim.warmUpEnded(now: now) { IdleTrim.releaseCodePages() }
            if let fresh = agent.pendingPipelines.withLock({ pending in defer { pending = nil }; return pending }) {
                adopt(fresh, now: now)
            }
            if now - lastScan >= 1_000 {
                scan(now: now)
                lastScan = now
            }
            var didRead = false
            for tailer in tailers.values where stopSignal.isRunning && !tailer.released {
                didRead = pollTailer(tailer, now: now) || didRead
            }
            retireRotated(now: now)
            handOff()
            collectDeliveryCounts()
            if now - lastSave >= 1_000 {
                try saveRegistry()
                lastSave = now
            }
            if idleTrim.shouldTrim(now: now, didRead: didRead, inFlight: agent.producerInFlight) {
                agent.recordBuffers.drop()
                IdleTrim.trimHeap()
            }
            if !didRead { stopSignal.wait(seconds: 0.05) }
        }
    }

    private func pollTailer(_ tailer: FileTailer, now: Int64) -> Bool {
        tailer.poll(now: now, registry: registry, stats: stats) { record, identity, tracker in
            self.ship(record, identity: identity, tracker: tracker, path: tailer.path, pipeline: tailer.input, now: now)
        }
    }

    /// Brings the registry up to what Kafka acknowledged and writes it, with the metrics
    /// textfile: by the saver's thread while running, here and now on shutdown.
    func saveRegistry(synchronously: Bool = false) throws {
        for tailer in tailers.values {
            if let entry = tailer.registryEntry { registry.update(entry) }
        }
        let cutoff = Date().timeIntervalSince1970 - 7 * 86_400
        for entry in registry.entries.values where entry.updated < cutoff { registry.remove(entry.identity) }
        let backlog = tailers.values.map { (path: $0.path, behind: $0.bytesBehind) }
        agent.fileBacklog.withLock { $0 = backlog }
        if synchronously {
            try registry.save()
            AgentMetrics.write(agent.metricsText(), to: configuration.agent.dataDir)
        } else {
            try agent.saver.submit(Array(registry.entries.values), metrics: agent.metricsText())
        }
    }

    func shutdown() throws {
        let now = agent.clock()
        let producer = agent.producer
        for tailer in tailers.values {
            tailer.flushPending(now: now) { record, identity, tracker in
                self.ship(record, identity: identity, tracker: tracker, path: tailer.path, pipeline: tailer.input, now: now)
            }
        }
        // What was read goes to Kafka if there is room; with none (Kafka down) it stays
        // unacknowledged and is read again on the next start.
        handOff()
        agent.shipQueue.close()
        agent.shipperDone.wait()
        agent.heartbeat.stop()
        let flushed = producer.flushBlocking(timeoutMs: Int32(configuration.agent.shutdownTimeoutMs))
        if !flushed {
            logger.warning("Kafka did not acknowledge everything before the shutdown deadline; the rest is re-read on the next start",
                           metadata: ["kafka.in_flight": "\(producer.inFlight)"])
        }
        collectDeliveryCounts()
        agent.saver.stop()
        try saveRegistry(synchronously: true)
        logger.info("agent stopped", metadata: ["agent.events_sent": "\(stats.snapshot.eventsSent)"])
    }
}
