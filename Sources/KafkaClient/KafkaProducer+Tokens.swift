import CRdKafka
import Foundation
import Synchronization

/// Reports for messages queued with a token. Acknowledged tokens come in batches, in the order
/// librdkafka reported them (one call per batch of reports a poll served, not one per message: the
/// caller's bookkeeping takes its locks once a batch); a failed message comes alone, with the
/// error and a copy of the message, so the caller can send it again.
public typealias TokenDeliveryHandler = @Sendable (_ report: TokenReport) -> Void

public enum TokenReport {
    /// Tokens Kafka acknowledged; the buffer is valid during the call only.
    case delivered(UnsafeBufferPointer<UInt>)
    case failed(UInt, FailedDelivery)
}

public struct FailedDelivery: Sendable {
    public var error: KafkaError
    public var key: [UInt8]?
    public var value: [UInt8]
}

/// A topic looked up once, for producing many messages without a name lookup each.
public final class ProducerTopic: Sendable {
    public let name: String
    let handle: HandleRef
    var pointer: OpaquePointer { handle.pointer }
    /// Created (or found) on the broker; until then creation is retried now and then.
    let known = Atomic<Bool>(false)

    init(name: String, pointer: OpaquePointer) {
        self.name = name
        handle = HandleRef(pointer: pointer)
    }
}

/// The producer's delivery-report state reachable from librdkafka's callback (the handle's opaque).
final class DeliveryRouter: Sendable {
    let limiter: InFlightLimiter
    let onToken: TokenDeliveryHandler?
    /// Acknowledged tokens not handed over yet: collected while librdkafka serves reports (the
    /// callback runs once per message), handed over with their in-flight slots in one step.
    private let acknowledged = Mutex<[UInt]>([])
    /// Hand over early when this many are collected (a poll can serve many batches' reports).
    static let handOverAt = 2_048

    init(limiter: InFlightLimiter, onToken: TokenDeliveryHandler?) {
        self.limiter = limiter
        self.onToken = onToken
        acknowledged.withLock { $0.reserveCapacity(Self.handOverAt) }
    }

    func deliver(token: UInt, _ message: rd_kafka_message_t) {
        guard let onToken else { return limiter.release() }
        guard message.err != RD_KAFKA_RESP_ERR_NO_ERROR else {
            if acknowledged.withLock({ $0.append(token); return $0.count >= Self.handOverAt }) { handOver() }
            return
        }
        limiter.release()
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        let value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) } ?? []
        onToken(.failed(token, FailedDelivery(error: KafkaError(message.err, "delivery to \(topic) failed"), key: key, value: value)))
    }

    /// Gives the collected acknowledgements to the handler, then frees their in-flight slots.
    /// Called by whoever served reports: the poll thread after each poll, a flush after it
    /// returns. The handler runs under the lock, so a flush that finds nothing left to hand over
    /// also knows that no other thread is still in the middle of handing some over.
    func handOver() {
        guard let onToken else { return }
        acknowledged.withLock { tokens in
            guard !tokens.isEmpty else { return }
            tokens.withUnsafeBufferPointer { onToken(.delivered($0)) }
            limiter.release(tokens.count)
            tokens.removeAll(keepingCapacity: true)
        }
    }
}

extension KafkaProducer {
    /// The handle for producing to `name`, created with the configured partitions on first use.
    public func topic(named name: String) throws -> ProducerTopic {
        if let topic = topics.withLock({ $0[name] }) { return topic }
        try? ensureTopic(name)
        return try topics.withLock { topics in
            if let topic = topics[name] { return topic }
            guard let pointer = rd_kafka_topic_new(handle, name, nil) else {
                throw KafkaError.client("cannot create a handle for topic \(name)")
            }
            let topic = ProducerTopic(name: name, pointer: pointer)
            topics[name] = topic
            return topic
        }
    }

    /// `topic(named:)` for a thread that must stay stoppable: creating a topic can take the admin
    /// timeouts (15 s with Kafka down), so it runs on a worker while the caller waits in 50 ms
    /// slices; returns nil as soon as `shouldStop()` says so (the creation finishes by itself).
    public func topic(named name: String, unless shouldStop: () -> Bool) throws -> ProducerTopic? {
        if let topic = topics.withLock({ $0[name] }) { return topic }
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<ProducerTopic, Error>?>(nil)
        DispatchQueue.global().async { [self] in
            result.withLock { $0 = Result { try topic(named: name) } }
            done.signal()
        }
        while done.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
            if shouldStop() { return nil }
        }
        return try result.withLock { $0 }!.get()
    }

    /// Waits (at most `timeoutMs`) until fewer than the in-flight bound await a report.
    public func waitForRoom(timeoutMs: Int) -> Bool { limiter.waitForRoom(timeoutMs: timeoutMs) }

    /// Queues one message whose report goes to the producer's `onTokenDelivery` with `token`
    /// (acknowledgements in batches: `TokenReport`)
    /// (at most `UInt.max >> 1`). Copies key and value; allocates nothing per message. Never
    /// waits: at the in-flight bound it queues nothing and returns false, so the caller can wait
    /// on `waitForRoom(timeoutMs:)` and check whether it should stop meanwhile.
    public func enqueue(_ topic: ProducerTopic, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer,
                        token: UInt) throws -> Bool {
        if !topic.known.load(ordering: .relaxed) {
            try ensureTopic(topic.name)
            if configuration.createTopicsWithPartitions == nil || knownTopics.withLock({ $0.contains(topic.name) }) {
                topic.known.store(true, ordering: .relaxed)
            }
        }
        guard limiter.tryAcquire() else { return false }
        let opaque = UnsafeMutableRawPointer(bitPattern: token << 1 | 1)
        while true {
            let err = logship_produce_rkt(handle, topic.pointer, key?.baseAddress, key?.count ?? 0,
                                          value.baseAddress, value.count, opaque)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return true }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL { Thread.sleep(forTimeInterval: 0.001); continue }
            limiter.release()
            throw KafkaError(err, "cannot produce to topic \(topic.name)")
        }
    }
}
