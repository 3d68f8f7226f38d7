import LogshipConfig
import Foundation
import KafkaClient
import LogModel
import Logging
import Synchronization
import Telemetry

// The reading thread tails, splits and joins lines into records, masks their secrets and
// registers each with its file's tracker (read order); the shipping thread turns them into events
// and produces them, in that same order. Two threads: the pipeline's CPU no longer waits for
// reading, nor reading for the pipeline, and masking (a fifth of the shipping thread's work before)
// runs beside the shipping thread's parse and encode instead of before them.
extension LogAgent {
    /// A record read (its secrets masked already), on its way to the shipping thread.
    struct Shipment {
        var record: Record
        /// How many secrets masking replaced in `record`.
        var masked: Int
        var sequence: Int
        var source: Source
        var now: Int64
    }

    /// Where records come from, shared by the records of one file (one reference per record
    /// to count, not four).
    final class Source: Sendable {
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

    /// What only the shipping thread uses, owned by its loop: the event being shipped, encoded
    /// (reused for every event), each pipeline's scratch, and its topic handle (opened on first
    /// use; the last one used is at hand without a lookup).
    struct Shipper {
        let encoded = OutputBuffer(capacity: 4096)
        /// The scratches of the pipelines other than the current one.
        var scratches: [ObjectIdentifier: InputPipeline.Scratch] = [:]
        /// The scratch of the pipeline of the last event, kept out of `scratches` while its
        /// events come (a batch is mostly one file's records): no dictionary lookup per event.
        var current = InputPipeline.Scratch()
        var currentPipeline: ObjectIdentifier?
        /// By topic name (pipelines of one service share it, a reload's new pipeline too).
        var topics: [String: ProducerTopic] = [:]
        var lastTopic: (pipeline: InputPipeline, topic: ProducerTopic)?

        /// Makes `current` the scratch of `pipeline`.
        @inline(__always) mutating func useScratch(of pipeline: InputPipeline) {
            let id = ObjectIdentifier(pipeline)
            guard id != currentPipeline else { return }
            if let previous = currentPipeline { scratches[previous] = current }
            current = scratches.removeValue(forKey: id) ?? .init()
            currentPipeline = id
        }

        mutating func topic(of pipeline: InputPipeline) -> ProducerTopic? {
            if let lastTopic, lastTopic.pipeline === pipeline { return lastTopic.topic }
            guard let topic = topics[pipeline.topic] else { return nil }
            lastTopic = (pipeline, topic)
            return topic
        }
    }

    /// The shipping thread: events in read order, and the retries of failed deliveries, until
    /// the queue is closed and empty.
    func shipLoop() {
        var shipper = Shipper()
        while true {
            resendFailed(&shipper)
            guard var shipments = shipQueue.take(timeout: 0.05) else {
                if shipQueue.isFinished { break }
                continue
            }
            shipments.withUnsafeBufferPointer { shipments in
                for index in shipments.indices { deliver(shipments[index], &shipper) }
            }
            // The records' buffers go back to the reading thread for the next records.
            var buffers: [[UInt8]] = []
            buffers.reserveCapacity(shipments.count)
            shipments.withUnsafeMutableBufferPointer { shipments in
                for index in shipments.indices {
                    // Moved out (swapped with an empty array): the buffer stays referenced once.
                    var bytes: [UInt8] = []
                    swap(&bytes, &shipments[index].record.bytes)
                    buffers.append(bytes)
                }
            }
            shipments = []
            recordBuffers.giveBack(buffers)
        }
        shipperDone.signal()
    }

    /// Shipping thread: parse, mask, filter, enrich, encode; produce or drop.
    func deliver(_ item: Shipment, _ shipper: inout Shipper) {
        let source = item.source, pipeline = source.pipeline
        let encoded = shipper.encoded
        shipper.useScratch(of: pipeline)
        let outcome = pipeline.process(item.record, masked: item.masked, fileIdentity: source.identity, filePath: source.path,
                                       nowMillis: item.now, stats: stats, into: encoded, scratch: &shipper.current)
        switch outcome {
        case .drop(let reason):
            stats.add(reason, 1, service: pipeline.service)
            source.tracker.ack(item.sequence)
        case .ship(let key):
            let entry = DeliveryLedger.Entry(tracker: source.tracker, sequence: item.sequence, pipeline: pipeline, readMs: item.now)
            key.withUTF8 { key in
                send(entry, key: UnsafeRawBufferPointer(key), value: encoded.bytes, &shipper)
            }
        }
    }

    /// One event whose delivery failed in a way a retry can fix, with what is needed to send it again.
    struct Outgoing: Sendable {
        var pipeline: InputPipeline
        var key: [UInt8]
        var value: [UInt8]
        var tracker: AckTracker
        var sequence: Int
        var readMs: Int64
    }

    func send(_ entry: DeliveryLedger.Entry, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, _ shipper: inout Shipper) {
        let pipeline = entry.pipeline
        let token = ledger.open(entry)
        do {
            let topic: ProducerTopic
            if let known = shipper.topic(of: pipeline) {
                topic = known
            } else {
                // Stopping while the topic is being created: the event stays unacknowledged.
                guard let handle = try producer.topic(named: pipeline.topic, unless: { stopSignal.isStopped }) else {
                    _ = ledger.close(token)
                    return
                }
                shipper.topics[pipeline.topic] = handle
                topic = handle
            }
            // Back-pressure: wait for acknowledgements instead of queueing without bound. When
            // stopping, the event stays unacknowledged and is read again on the next start. (Never
            // an unconditional wait: the heartbeat takes slots too, and with Kafka down a slot
            // seen free could be gone, and the wait endless.)
            while try !producer.enqueue(topic, key: key, value: value, token: token) {
                guard stopSignal.isRunning else {
                    _ = ledger.close(token)
                    return
                }
                _ = producer.waitForRoom(timeoutMs: 50)
            }
        } catch {
            _ = ledger.close(token)
            logger.warning("cannot queue event; will retry", metadata: ["kafka.error": "\(error)"])
            retries.append(Outgoing(pipeline: entry.pipeline, key: Array(key), value: Array(value),
                                    tracker: entry.tracker, sequence: entry.sequence, readMs: entry.readMs))
        }
    }

    func resendFailed(_ shipper: inout Shipper) {
        let pending = retries.takeAll()
        for item in pending where stopSignal.isRunning {
            item.key.withUnsafeBytes { key in
                item.value.withUnsafeBytes { value in
                    send(DeliveryLedger.Entry(tracker: item.tracker, sequence: item.sequence, pipeline: item.pipeline, readMs: item.readMs),
                         key: key, value: value, &shipper)
                }
            }
        }
    }
}

extension AgentReader {
    /// Reading thread: masks the record's secrets, registers it (its place in the file) and
    /// queues it for shipping.
    func ship(_ record: consuming Record, identity: String, tracker: AckTracker, path: String, pipeline: InputPipeline, now: Int64) {
        var record = record
        let masked = pipeline.masker.mask(&record.bytes)
        let sequence = tracker.register(endOffset: record.endOffset)
        let source: LogAgent.Source
        if let last = lastSource, last.isSame(identity: identity, path: path, tracker: tracker, pipeline: pipeline) {
            source = last
        } else {
            source = LogAgent.Source(identity: identity, path: path, tracker: tracker, pipeline: pipeline)
            lastSource = source
        }
        batch.append(LogAgent.Shipment(record: record, masked: masked, sequence: sequence, source: source, now: now))
        if batch.count >= LogAgent.batchSize { handOff() }
    }

    /// Reading thread: passes the batch filled so far to the shipping thread (waits while two
    /// are queued: reading pauses when shipping is behind).
    func handOff() {
        guard !batch.isEmpty else { return }
        agent.shipQueue.put(batch)
        batch = []
        batch.reserveCapacity(LogAgent.batchSize)
    }

    /// Moves the delivery counts of the report thread into the agent's stats.
    func collectDeliveryCounts() {
        for pipeline in pipelines + retiredPipelines {
            let counts = pipeline.counts
            var delta = AgentStats.Counters()
            delta.eventsSent = counts.sent.exchange(0, ordering: .relaxed)
            delta.eventsFailed = counts.failed.exchange(0, ordering: .relaxed)
            if delta.eventsSent != 0 || delta.eventsFailed != 0 { stats.add(delta, service: pipeline.service) }
        }
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
