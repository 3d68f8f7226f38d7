import CRdKafka
import Foundation
import Synchronization

/// Reports for messages queued with a token: the token, and for a failed message the error
/// and a copy of the message, so the caller can send it again.
public typealias TokenDeliveryHandler = @Sendable (_ token: UInt, _ failure: FailedDelivery?) -> Void

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

    init(limiter: InFlightLimiter, onToken: TokenDeliveryHandler?) {
        self.limiter = limiter
        self.onToken = onToken
    }

    func deliver(token: UInt, _ message: rd_kafka_message_t) {
        limiter.release()
        guard let onToken else { return }
        guard message.err != RD_KAFKA_RESP_ERR_NO_ERROR else { return onToken(token, nil) }
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        let value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) } ?? []
        onToken(token, FailedDelivery(error: KafkaError(message.err, "delivery to \(topic) failed"), key: key, value: value))
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
