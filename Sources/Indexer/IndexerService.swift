import ElasticClient
import Foundation
import KafkaClient
import LogModel
import LogshipConfig
import Logging
import Synchronization
import Telemetry

/// One member of the `logship-indexer` group: Kafka → Elasticsearch with exactly-once effect.
/// An offset is committed only after every record at or below it was acknowledged by
/// Elasticsearch (201, 409) or by Kafka as a dead letter. Retriable failures are retried for
/// ever with consumption paused; nothing is dropped. Deterministic ids make re-delivery harmless.
public final class IndexerService: BlockingRole, Sendable {
    public static let version = logshipVersion
    public let stats = IndexerStats()
    /// A partition read to its end is fetched again after this long (see README: noida-db).
    static let idleFetchBackoffMs = 100
    /// When a bulk last asked Elasticsearch for a refresh (`indexer.refresh: auto`).
    let lastForcedRefresh = Mutex(ContinuousClock.now - .seconds(1))
    let configuration: IndexerConfiguration
    let logger: Logger
    let es: ElasticClient
    let producer: KafkaProducer
    let consumer: KafkaConsumer
    let stopSignal = StopSignal()
    /// Partitions taken away, and commits waiting: shared with the consumer's rebalance hooks.
    let book = PartitionBook()
    /// What the run loop carries from one batch to the next (its thread only; behind a lock
    /// so the type needs no promise).
    struct Carried {
        var nextCommitRetry = Date.distantPast
        var knownIndices = Set<String>()
        var leakedForTest = false
    }

    let carried = Mutex(Carried())
    var nextCommitRetry: Date {
        get { carried.withLock { $0.nextCommitRetry } }
        set { carried.withLock { $0.nextCommitRetry = newValue } }
    }
    var knownIndices: Set<String> {
        get { carried.withLock { $0.knownIndices } }
        set { carried.withLock { $0.knownIndices = newValue } }
    }
    var leakedForTest: Bool {
        get { carried.withLock { $0.leakedForTest } }
        set { carried.withLock { $0.leakedForTest = newValue } }
    }
    let heartbeat: HeartbeatPublisher
    let componentID: String
    let watchdog: StallWatchdog
    /// Asks whether Elasticsearch answers, for the watchdog (the writer's client may be busy in a bulk).
    let probe: ElasticClient
    let watchdogTimer = Mutex<DispatchSourceTimer?>(nil)
    /// `LOGSHIP_TEST_HOOKS=leak-pause`: after the first commit, pause the assignment outside any
    /// wait, as the stall bug did, so tests can show the watchdog fire. Never set in production.
    let leakPauseHook: Bool

    public convenience init(configuration: LogshipConfiguration, componentID: String? = nil, instanceID: String? = nil,
                            logger: Logger = Logger(label: "logship.indexer")) throws {
        try self.init(configuration: IndexerConfiguration(configuration), componentID: componentID, instanceID: instanceID, logger: logger)
    }

    public init(configuration: IndexerConfiguration, componentID: String? = nil, instanceID: String? = nil,
                logger: Logger = Logger(label: "logship.indexer")) throws {
        self.configuration = configuration
        self.logger = logger
        let host = ProcessInfo.processInfo.hostName
        // Survives a restart: the host (a pod's name) and, for several indexers on one host,
        // the instance (the systemd instance, --instance-id).
        self.componentID = componentID ?? (instanceID.map { "indexer@\(host)/\($0)" } ?? "indexer@\(host)")
        es = try ElasticClient(ElasticConfiguration(configuration.elasticsearch))
        probe = try ElasticClient(ElasticConfiguration(configuration.elasticsearch, requestTimeoutMs: 3_000))
        let watchdog = StallWatchdog(timeoutMs: configuration.indexer.stallTimeoutMs)
        self.watchdog = watchdog
        leakPauseHook = (ProcessInfo.processInfo.environment["LOGSHIP_TEST_HOOKS"] ?? "").split(separator: ",").contains("leak-pause")
        let kafka = KafkaConfiguration(configuration.kafka, clientID: self.componentID)
        producer = try KafkaProducer(KafkaProducerConfiguration(
            kafka: kafka, maxInFlight: 10_000, createTopicsWithPartitions: configuration.kafka.partitions,
            replicationFactor: configuration.kafka.replicationFactor, messageTimeoutMs: 0), logger: logger)
        let stats = self.stats
        var consumerConfiguration = KafkaConsumerConfiguration(kafka: kafka, groupID: configuration.indexer.group,
                                                               assignor: configuration.kafka.assignor)
        consumerConfiguration.groupInstanceID = instanceID
        consumerConfiguration.prefetchMessages = configuration.indexer.batchDocuments
        consumerConfiguration.prefetchKBytes = max(configuration.indexer.batchBytes / 1024, 1024)
        consumerConfiguration.idleFetchBackoffMs = Self.idleFetchBackoffMs
        // A fetch held by the broker for lack of data delays the partitions resumed or written
        // to meanwhile until it returns: keep it short (bench/latency.sh).
        consumerConfiguration.fetchWaitMaxMs = 100
        // The hooks run on the consumer's poll, after init: they reach the consumer through a
        // reference set once it exists.
        let consumerRef = Mutex<KafkaConsumer?>(nil)
        let book = self.book
        consumer = try KafkaConsumer(
            consumerConfiguration,
            hooks: RebalanceHooks(
                onAssign: { partitions in
                    // Eager assignors revoke everything first; cooperative ones add to what is owned.
                    stats.update { $0.owned = Set($0.owned).union(partitions.map(\.description)).sorted() }
                    logger.info("partitions assigned", metadata: [
                        "kafka.partitions": "\(partitions.map(\.description))",
                        "kafka.rebalance_protocol": "\(consumerRef.withLock { $0?.rebalanceProtocol } ?? "NONE")",
                    ])
                },
                onRevoke: { partitions in
                    book.revoke(partitions, stats: stats, logger: logger)
                }))
        consumerRef.withLock { [consumer] in $0 = consumer }
        heartbeat = HeartbeatPublisher(
            producer: producer, id: self.componentID, role: "indexer", host: host, version: Self.version,
            intervalMs: configuration.coordinator.heartbeatIntervalMs, logger: logger) {
            let (services, owned, lastError) = stats.state.withLock { ($0.services, $0.owned, $0.lastError) }
            var counters: [String: Int64] = [:]
            for (_, s) in services {
                counters["indexed", default: 0] += s.indexed
                counters["duplicates", default: 0] += s.duplicates
                counters["dead_lettered", default: 0] += s.deadLettered
            }
            let stall = watchdog.stall
            return HeartbeatPublisher.State(counters: counters, partitions: owned, lastError: lastError,
                                            status: stall == nil ? "up" : "stalled", statusReason: stall)
        }
    }

    public func stop() { stopSignal.stop() }
    var isRunning: Bool { stopSignal.isRunning }

    /// Runs until `stop()`, then drains the batch in hand, commits, leaves the group. Blocking.
    public func run() throws {
        try prepareElasticsearch()
        try consumer.subscribe([configuration.indexer.topics])
        heartbeat.start()
        startWatchdog()
        defer { watchdogTimer.withLock { $0?.cancel() } }
        logger.info("indexer started", metadata: ["kafka.group": "\(configuration.indexer.group)", "es.url": "\(es.configuration.displayURLs)"])
        var batch = Batch()
        var batchStarted = Date()
        while isRunning {
            // A batch goes when full, when it has waited batch_wait with nothing more to read
            // (all there was is in it: a quiet service's records are searchable at once), or at
            // flush_interval while records keep coming (a busy one's bulks stay large: what
            // arrives during a bulk request is read in one go after it).
            // (With refresh: auto, a caught-up batch also waits until it may ask for a refresh.)
            let age = batch.isEmpty ? 0 : Int(Date().timeIntervalSince(batchStarted) * 1000)
            let caughtUpWait = max(configuration.indexer.batchWaitMs - age, untilRefreshAllowed())
            // (Never longer than the fetch backoff: partitions paused at their end resume from
            // this loop, so a long wait here would hold a quiet service's next records back.)
            let waitMs = min(batch.isEmpty ? 500 : max(1, min(configuration.indexer.flushIntervalMs - age, caughtUpWait)), Self.idleFetchBackoffMs)
            let requested = max(configuration.indexer.batchDocuments - batch.count, 1)
            let messages = try consumer.pollBatch(maxMessages: requested, timeoutMs: Int32(min(waitMs, 500)))
            if !messages.isEmpty { watchdog.progressed() }
            if batch.isEmpty && !messages.isEmpty { batchStarted = Date() }
            batch.append(messages)
            dropRevoked(from: &batch)
            consumer.resumeIdlePartitions()
            let aged = Date().timeIntervalSince(batchStarted) * 1000
            let due = batch.count >= configuration.indexer.batchDocuments || batch.bytes >= configuration.indexer.batchBytes
                || aged >= Double(configuration.indexer.flushIntervalMs)
                || (messages.count < requested && aged >= Double(configuration.indexer.batchWaitMs) && untilRefreshAllowed() == 0)
            if !batch.isEmpty && due {
                logger.debug("indexer batch due", metadata: ["batch.documents": "\(batch.count)", "batch.age_ms": "\(Int(aged))",
                                                            "batch.caught_up": "\(messages.count < requested)"])
                try flush(batch, stopping: false, caughtUp: messages.count < requested)
                if leakPauseHook && stats.commits > 0 && !leakedForTest {
                    leakedForTest = true
                    consumer.leakHoldForTesting((try? consumer.assignment()) ?? [])
                    logger.warning("test hook leak-pause: paused the assignment outside any wait")
                }
                batch = Batch()
                batchStarted = Date()
                // Revocations seen during the write concerned that batch only; records polled
                // from now on belong to the current assignment.
                book.revoked.withLock { $0.removeAll() }
            }
            retryRefusedCommits()
            recordLag()
        }
        if !batch.isEmpty { try flush(batch, stopping: true) }
        retryRefusedCommits()
        heartbeat.stop()
        _ = producer.flushBlocking(timeoutMs: 5_000)
        consumer.closeBlocking()
        logger.info("indexer stopped")
    }

    func recordLag() {
        let lag = consumer.lag()
        stats.update { state in
            state.lag = Dictionary(uniqueKeysWithValues: lag.map { ("\($0.key.topic)/\($0.key.partition)", $0.value) })
        }
    }

    /// logship's index template (`elasticsearch.template`, `.index`) and, where the cluster has
    /// ILM and `elasticsearch.ilm.enabled`, its delete policy. Idempotent, safe with many
    /// indexers; a changed setting reaches new indices only. A backend that is not reachable yet
    /// is retried with backoff; an answer no restart can change (a refused template, bad
    /// credentials, a certificate problem) ends the indexer with exit 2 and ES's reason.
    func prepareElasticsearch() throws {
        let settings = configuration.elasticsearch
        logger.info("Elasticsearch", metadata: [
            "es.urls": "\(es.configuration.displayURLs)", "es.auth": "\(es.configuration.authMode)",
            "es.tls": "\(settings.urls.contains { $0.hasPrefix("https://") } ? (settings.tls.verify ? "verified" : "unverified") : "off")",
        ])
        if !settings.tls.verify {
            logger.warning("elasticsearch.tls.verify is false: the server's certificate is not checked; use it for test clusters only")
        }
        var attempt = 0
        while isRunning {
            do {
                let ilm = settings.ilm.enabled && es.supportsILM()
                if ilm {
                    try es.call("PUT", "/_ilm/policy/\(settings.ilm.policy)", json: [
                        "policy": ["phases": ["hot": ["actions": [:]],
                                              "delete": ["min_age": .string("\(settings.ilm.deleteAfterDays)d"), "actions": ["delete": [:]]]]],
                    ])
                } else if settings.ilm.enabled {
                    logger.warning("Elasticsearch has no ILM here (OpenSearch or a test backend): old daily indices are not deleted automatically; schedule `logship retention --days N --execute`")
                }
                try es.putIndexTemplate(settings.template.name, IndexTemplate.logs(
                    patterns: settings.template.patterns, priority: settings.template.priority,
                    settings: Self.indexSettings(settings.index), ilmPolicy: ilm ? settings.ilm.policy : nil))
                return
            } catch let error as ElasticError where error.isRetriable {
                attempt += 1
                watchdog.elasticsearchRefused()
                logger.warning("Elasticsearch not ready; retrying", metadata: ["es.error": "\(error)"])
                _ = stopSignal.wait(ms: RetryPolicy.backoffMs(attempt: attempt, random: Double.random(in: 0.5..<1)))
            } catch let error as ElasticError {
                throw IndexerError("cannot install index template \(settings.template.name): \(error.message)", needsOperator: true)
            }
        }
    }

    static func indexSettings(_ index: LogshipConfiguration.Elasticsearch.Index) -> [String: JSONValue] {
        var settings = index.settings.mapValues { JSONValue.string($0) }
        if let shards = index.shards { settings["number_of_shards"] = .number(Double(shards)) }
        if let replicas = index.replicas { settings["number_of_replicas"] = .number(Double(replicas)) }
        if let refresh = index.refreshInterval { settings["refresh_interval"] = .string(refresh) }
        return settings
    }

    func dropRevoked(from batch: inout Batch) {
        let gone = book.revoked.withLock { set -> Set<TopicPartition> in
            defer { set.removeAll() }
            return set
        }
        if !gone.isEmpty { batch.remove(partitions: gone) }
    }
}

/// The partitions a rebalance took away (dropped from the batch in hand, never committed by this
/// member), and offsets of written batches whose commit the broker refused while a rebalance was
/// in progress: with a cooperative assignor those partitions stay and are not read again, so the
/// commit is retried until it lands (or the partition goes to another member).
final class PartitionBook: Sendable {
    let revoked = Mutex(Set<TopicPartition>())
    let uncommitted = Mutex([TopicPartition: Int64]())

    func revoke(_ partitions: [TopicPartition], stats: IndexerStats, logger: Logger) {
        revoked.withLock { $0.formUnion(partitions) }
        uncommitted.withLock { pending in for partition in partitions { pending.removeValue(forKey: partition) } }
        stats.update { $0.owned.removeAll { owned in partitions.contains { $0.description == owned } } }
        logger.info("partitions revoked", metadata: ["kafka.partitions": "\(partitions.map(\.description))"])
    }
}

/// Records polled and not yet written, in poll order.
struct Batch {
    var messages: [KafkaMessage] = []
    var bytes = 0
    var count: Int { messages.count }
    var isEmpty: Bool { messages.isEmpty }

    mutating func append(_ more: [KafkaMessage]) {
        messages.append(contentsOf: more)
        bytes += more.reduce(0) { $0 + $1.value.count }
    }

    mutating func remove(partitions: Set<TopicPartition>) {
        messages.removeAll { partitions.contains($0.topicPartition) }
        bytes = messages.reduce(0) { $0 + $1.value.count }
    }

    /// The offsets to commit once every record of the batch is done: last offset + 1 per partition.
    var commitOffsets: [TopicPartition: Int64] {
        var offsets: [TopicPartition: Int64] = [:]
        for message in messages { offsets[message.topicPartition] = max(offsets[message.topicPartition] ?? 0, message.offset + 1) }
        return offsets
    }
}
