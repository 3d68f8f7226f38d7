import Foundation
import KafkaClient
import LogModel
import Logging
import Synchronization

/// Sends a `ComponentBeat` to `logship.health` every interval through the role's own producer,
/// and a final `stopped` beat on a clean shutdown. The beat's content comes from `snapshot`.
public final class HeartbeatPublisher: Sendable {
    /// What a beat reports. `status` is `up`, or a role's own verdict on itself such as
    /// `stalled` (with `statusReason`); the final beat of a clean shutdown is always `stopped`.
    public struct State: Sendable {
        public var counters: [String: Int64]
        public var partitions: [String]
        public var lastError: String?
        public var status: String
        public var statusReason: String?

        public init(counters: [String: Int64], partitions: [String] = [], lastError: String? = nil,
                    status: String = "up", statusReason: String? = nil) {
            self.counters = counters
            self.partitions = partitions
            self.lastError = lastError
            self.status = status
            self.statusReason = statusReason
        }
    }

    public typealias Snapshot = @Sendable () -> State

    private let producer: KafkaProducer
    private let id: String
    private let role: String
    private let host: String
    private let version: String
    private let intervalMs: Int
    private let startedAt: String
    private let snapshot: Snapshot
    private let logger: Logger
    private let timer = Mutex<DispatchSourceTimer?>(nil)

    public init(producer: KafkaProducer, id: String, role: String, host: String, version: String, intervalMs: Int,
                logger: Logger, snapshot: @escaping Snapshot) {
        self.producer = producer
        self.id = id
        self.role = role
        self.host = host
        self.version = version
        self.intervalMs = intervalMs
        self.snapshot = snapshot
        self.logger = logger
        startedAt = Self.now()
    }

    public func start() {
        let queue = DispatchQueue(label: "logship.heartbeat")
        // Creating the compacted topic can take the admin timeout when brokers are slow or
        // refuse CreateTopics: do it on the heartbeat queue, not on the role's start path.
        queue.async { [self] in
            do {
                try producer.createTopic(Naming.healthTopic, partitions: 1, config: ["cleanup.policy": "compact"])
            } catch {
                logger.warning("cannot create \(Naming.healthTopic); heartbeats go to it once it exists", metadata: ["kafka.error": "\(error)"])
            }
        }
        let intervalMs = self.intervalMs
        timer.withLock { slot in
            let source = DispatchSource.makeTimerSource(queue: queue)
            source.schedule(deadline: .now(), repeating: .milliseconds(intervalMs))
            source.setEventHandler { [self] in beat(final: false) }
            source.resume()
            slot = source
        }
    }

    /// Stops the timer and queues the final `stopped` beat (flushed with the role's producer).
    public func stop() {
        timer.withLock { $0?.cancel(); $0 = nil }
        beat(final: true)
    }

    private func beat(final: Bool) {
        let state = snapshot()
        let beat = ComponentBeat(id: id, role: role, host: host, version: version, startedAt: startedAt, sentAt: Self.now(),
                                 status: final ? "stopped" : state.status, intervalMs: intervalMs, counters: state.counters,
                                 ownedPartitions: state.partitions, lastError: state.lastError,
                                 statusReason: final ? nil : state.statusReason)
        guard let value = try? JSONEncoder().encode(beat) else { return }
        // A beat is worth nothing late: never wait for room, skip it when the producer is full
        // (with Kafka down, waiting would hang the role's shutdown on its final beat).
        do {
            if try !producer.enqueue(topic: Naming.healthTopic, key: Array(id.utf8), value: Array(value), waitForRoom: false, onDelivery: { _ in }) {
                logger.debug("heartbeat skipped: the producer's in-flight bound is reached")
            }
        } catch {
            logger.debug("heartbeat not sent", metadata: ["kafka.error": "\(error)"])
        }
    }

    /// RFC 3339 UTC with milliseconds (`2026-12-07T01:50:00.123Z`), as ISO8601DateFormatter
    /// wrote it with fractional seconds, without its ICU date formatter and locale data (about a
    /// megabyte of pages in every role, for a timestamp).
    static func now() -> String {
        Timestamps.format(epochMillis: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
