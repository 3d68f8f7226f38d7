import KafkaClient
import Logging
import Telemetry

/// What the agent does with Kafka's reports, on the producer's report thread. Acknowledgements
/// come a batch at a time (`TokenReport.delivered`): the ledger's lock is taken once a batch, and
/// each file's tracker once per run of its records (a partition's batch is mostly one file's run).
/// The router hands batches over under its lock, so the scratch arrays are never used by two
/// threads at once (hence `@unchecked Sendable`).
final class DeliveryBookkeeping: @unchecked Sendable {
    let ledger: DeliveryLedger
    let retries: RetryQueue
    let latency: TallyHistogram
    /// This batch's latencies, added to `latency` once per batch.
    private var latencies: TallyHistogram.Tally
    let clock: @Sendable () -> Int64
    let logger: Logger
    private var entries: [DeliveryLedger.Entry] = []
    private var sequences: [Int] = []

    init(ledger: DeliveryLedger, retries: RetryQueue, latency: TallyHistogram, clock: @escaping @Sendable () -> Int64, logger: Logger) {
        self.ledger = ledger
        self.retries = retries
        self.latency = latency
        latencies = latency.makeTally()
        self.clock = clock
        self.logger = logger
    }

    func handle(_ report: TokenReport) {
        switch report {
        case .delivered(let tokens): delivered(tokens)
        case .failed(let token, let failure): failed(ledger.close(token), failure)
        }
    }

    private func delivered(_ tokens: UnsafeBufferPointer<UInt>) {
        ledger.close(tokens, into: &entries)
        defer { entries.removeAll(keepingCapacity: true) }
        let now = clock()
        var start = 0
        while start < entries.count {
            let tracker = entries[start].tracker, pipeline = entries[start].pipeline
            var end = start
            while end < entries.count, entries[end].tracker === tracker, entries[end].pipeline === pipeline {
                latencies.record(Double(now - entries[end].readMs) / 1_000)
                sequences.append(entries[end].sequence)
                end += 1
            }
            pipeline.counts.sent.add(Int64(end - start), ordering: .relaxed)
            tracker.ack(all: sequences)
            sequences.removeAll(keepingCapacity: true)
            start = end
        }
        latency.add(&latencies)
    }

    private func failed(_ entry: DeliveryLedger.Entry, _ failure: FailedDelivery) {
        if failure.error.isPermanentForMessage {
            entry.pipeline.counts.failed.add(1, ordering: .relaxed)
            logger.error("event rejected by Kafka; skipped",
                         metadata: ["kafka.error": "\(failure.error)", "agent.paths": "\(entry.pipeline.patterns)"])
            entry.tracker.ack(entry.sequence)
        } else {
            // Unknown topic, broker gone: send it again; the registry stays behind it meanwhile.
            retries.append(LogAgent.Outgoing(pipeline: entry.pipeline, key: failure.key ?? [], value: failure.value,
                                             tracker: entry.tracker, sequence: entry.sequence, readMs: entry.readMs))
        }
    }
}
