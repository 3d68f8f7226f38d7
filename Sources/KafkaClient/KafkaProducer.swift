import CRdKafka
import Foundation
import Logging
import Synchronization

public typealias DeliveryHandler = @Sendable (Result<DeliveryReport, KafkaError>) -> Void

/// An idempotent producer (acks=all, zstd by default). Every message gets its own delivery
/// report, so callers know exactly what Kafka acknowledged. The number of unacknowledged
/// messages is bounded: `enqueue` blocks and `send` suspends when the bound is reached.
/// @unchecked Sendable: owns a librdkafka handle (thread-safe by librdkafka's contract).
public final class KafkaProducer: @unchecked Sendable {
    let handle: OpaquePointer
    let limiter: InFlightLimiter
    let configuration: KafkaProducerConfiguration
    private let executor = BlockingExecutor(label: "logship.kafka.producer")
    let knownTopics = Mutex(Set<String>())
    private let topicAttempts = Mutex([String: ContinuousClock.Instant]())
    private let running = SharedFlag()
    /// Signalled by the poll thread as it ends: `deinit` waits on it (no polling, no sleep).
    private let pollEnded = DispatchSemaphore(value: 0)
    private let logger: Logger
    let router: DeliveryRouter
    let topics = Mutex([String: ProducerTopic]())

    /// `onTokenDelivery` receives the reports of messages queued with `enqueue(_:key:value:token:)`.
    public init(_ configuration: KafkaProducerConfiguration, logger: Logger = Logger(label: "logship.kafka"),
                onTokenDelivery: TokenDeliveryHandler? = nil) throws {
        self.configuration = configuration
        self.logger = logger
        limiter = InFlightLimiter(limit: configuration.maxInFlight)
        let router = DeliveryRouter(limiter: limiter, onToken: onTokenDelivery)
        self.router = router
        handle = try RDKafka.makeHandle(RD_KAFKA_PRODUCER, properties: configuration.librdkafkaProperties) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf, deliveryCallback)
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(router).toOpaque())
        }
        // Delivery reports are served by a dedicated thread, never by the cooperative pool.
        let handleRef = HandleRef(pointer: handle)
        let running = self.running
        let ended = pollEnded
        let pollThread = Thread {
            while running.load() {
                rd_kafka_poll(handleRef.pointer, 100)
                router.handOver()
            }
            ended.signal()
        }
        pollThread.name = "logship-kafka-producer-poll"
        pollThread.start()
    }

    /// Messages handed to librdkafka and not yet reported delivered or failed.
    public var inFlight: Int { limiter.inFlight }

    /// Queues one message and returns at once; `onDelivery` runs on the producer's poll thread.
    /// Blocks the calling thread while the in-flight bound is reached: call from a dedicated thread.
    ///
    /// With `waitForRoom: false` it never waits: at the in-flight bound nothing is queued and it
    /// returns false, and it does not try to create the topic (a blocking call while Kafka is
    /// down). For messages worth nothing late, such as heartbeats, which must not hang a
    /// shutdown while Kafka is down and the bound is full.
    @discardableResult
    public func enqueue(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = [],
                        partition: Int32 = -1, timestampMs: Int64 = 0, waitForRoom: Bool = true,
                        onDelivery: @escaping DeliveryHandler) throws -> Bool {
        if waitForRoom {
            try ensureTopic(topic)
            limiter.acquireBlocking()
        } else if !limiter.tryAcquire() {
            return false
        }
        do {
            try produce(topic: topic, key: key, value: value, headers: headers, partition: partition,
                        timestampMs: timestampMs, onDelivery: onDelivery)
        } catch {
            limiter.release()
            throw error
        }
        return true
    }

    /// Sends one message and waits for its delivery report.
    @discardableResult
    public func send(topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = [],
                     partition: Int32 = -1, timestampMs: Int64 = 0) async throws -> DeliveryReport {
        if !knownTopics.withLock({ $0.contains(topic) }) {
            try await executor.run { try self.ensureTopic(topic) }
        }
        await limiter.acquire()
        return try await withCheckedThrowingContinuation { continuation in
            do {
                try produce(topic: topic, key: key, value: value, headers: headers, partition: partition,
                            timestampMs: timestampMs) { continuation.resume(with: $0) }
            } catch {
                limiter.release()
                continuation.resume(throwing: error)
            }
        }
    }

    /// Queues a tombstone (a null value) for `key`: on a compacted topic the key's records go.
    /// Never waits for room; false when the in-flight bound is reached.
    @discardableResult
    public func enqueueTombstone(topic: String, key: [UInt8], onDelivery: @escaping DeliveryHandler) throws -> Bool {
        guard limiter.tryAcquire() else { return false }
        do {
            try produce(topic: topic, key: key, value: nil, headers: [], partition: -1, timestampMs: 0, onDelivery: onDelivery)
        } catch {
            limiter.release()
            throw error
        }
        return true
    }

    private func produce(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader],
                         partition: Int32, timestampMs: Int64, onDelivery: @escaping DeliveryHandler) throws {
        let limiter = self.limiter
        // The handler travels with the message as librdkafka's per-message opaque (retained here,
        // released by the delivery callback): no shared table, no lock per message.
        let box = Unmanaged.passRetained(DeliveryBox { result in
            limiter.release()
            onDelivery(result)
        })
        let hdrs: OpaquePointer? = headers.isEmpty ? nil : rd_kafka_headers_new(headers.count)
        for header in headers {
            _ = header.value.withUnsafeBytes { rd_kafka_header_add(hdrs, header.key, -1, $0.baseAddress, $0.count) }
        }
        while true {
            let err = withValue(value) { valuePointer, valueLength in
                withKey(key) { keyPointer, keyLength in
                    logship_produce(handle, topic, partition, keyPointer, keyLength, valuePointer,
                                    valueLength, hdrs, timestampMs, box.toOpaque())
                }
            }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            // librdkafka's own queue is full: wait for reports to drain it rather than fail.
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL { Thread.sleep(forTimeInterval: 0.01); continue }
            if let hdrs { rd_kafka_headers_destroy(hdrs) }
            box.release()
            throw KafkaError(err, "cannot produce to topic \(topic)")
        }
    }

    /// A null value (a tombstone) when nil.
    private func withValue<R>(_ value: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let value else { return body(nil, 0) }
        return value.withUnsafeBytes { body($0.baseAddress, $0.count) }
    }

    private func withKey<R>(_ key: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let key else { return body(nil, 0) }
        return key.withUnsafeBytes { body($0.baseAddress, $0.count) }
    }

    /// Creates the topic with the configured partitions the first time it is used. A failure
    /// (broker down, CreateTopics refused) is logged and tried again at most every 30 s; the
    /// message is queued regardless and waits in librdkafka for the topic to appear.
    func ensureTopic(_ topic: String) throws {
        guard let partitions = configuration.createTopicsWithPartitions,
              !knownTopics.withLock({ $0.contains(topic) }) else { return }
        let now = ContinuousClock.now
        let due = topicAttempts.withLock { attempts -> Bool in
            if let last = attempts[topic], now - last < .seconds(30) { return false }
            attempts[topic] = now
            return true
        }
        guard due else { return }
        // An existing topic needs no CreateTopics (which some clusters refuse or never answer,
        // e.g. librdkafka's mock cluster, costing the caller the whole admin timeout).
        if KafkaAdmin.topicExists(on: handle, name: topic, timeoutMs: 5_000) == true {
            _ = knownTopics.withLock { $0.insert(topic) }
            return
        }
        do {
            try KafkaAdmin.createTopic(on: handle, name: topic, partitions: partitions,
                                       replicationFactor: configuration.replicationFactor, timeoutMs: 10_000,
                                       ignoreExisting: true)
            _ = knownTopics.withLock { $0.insert(topic) }
        } catch {
            logger.warning("cannot create topic; producing anyway", metadata: ["kafka.topic": "\(topic)", "kafka.error": "\(error)"])
        }
    }

    /// Creates a topic with its own settings (e.g. `cleanup.policy=compact`) before first use;
    /// an existing topic is fine. Blocking.
    public func createTopic(_ name: String, partitions: Int, config: [String: String]) throws {
        try KafkaAdmin.createTopic(on: handle, name: name, partitions: partitions,
                                   replicationFactor: configuration.replicationFactor, config: config,
                                   timeoutMs: 10_000, ignoreExisting: true)
        _ = knownTopics.withLock { $0.insert(name) }
    }

    /// Waits until every queued message has a delivery report, or the deadline passes.
    public func flush(timeout: Duration) async throws {
        let ms = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let err = try await executor.run {
            defer { self.router.handOver() }
            return rd_kafka_flush(self.handle, ms)
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(err, "flush: \(inFlight) messages still unacknowledged after \(timeout)")
        }
    }

    /// Blocking flush for dedicated threads and shutdown paths.
    public func flushBlocking(timeoutMs: Int32) -> Bool {
        // rd_kafka_flush serves reports on this thread too: what it collected is handed over here.
        defer { router.handOver() }
        return rd_kafka_flush(handle, timeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    deinit {
        running.store(false)
        pollEnded.wait()
        for topic in topics.withLock({ $0.values }) { rd_kafka_topic_destroy(topic.pointer) }
        rd_kafka_destroy(handle)
    }
}

/// A message's completion handler, carried through librdkafka as the message's opaque pointer.
final class DeliveryBox {
    let handler: DeliveryHandler
    init(_ handler: @escaping DeliveryHandler) { self.handler = handler }
}

/// A message's opaque pointer is either a retained `DeliveryBox` (aligned, low bit 0) or a
/// caller's token shifted left with the low bit set: the token path allocates nothing.
private func deliveryCallback(_ rk: OpaquePointer?, _ message: UnsafePointer<rd_kafka_message_t>?,
                              _ opaque: UnsafeMutableRawPointer?) {
    guard let message, let messageOpaque = message.pointee._private else { return }
    let raw = message.pointee
    let bits = UInt(bitPattern: messageOpaque)
    if bits & 1 == 1, let opaque {
        Unmanaged<DeliveryRouter>.fromOpaque(opaque).takeUnretainedValue().deliver(token: bits >> 1, raw)
        return
    }
    let box = Unmanaged<DeliveryBox>.fromOpaque(messageOpaque).takeRetainedValue()
    let topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
    if raw.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        box.handler(.success(DeliveryReport(topic: topic, partition: raw.partition, offset: raw.offset)))
    } else {
        box.handler(.failure(KafkaError(raw.err, "delivery to \(topic) failed")))
    }
}
