import ElasticClient
import Foundation
import KafkaClient
import LogModel
import Synchronization

extension IndexerService {
    /// Writes one batch: routes each record, writes documents with retries for ever, dead-letters
    /// what Elasticsearch rejects, then commits. The whole write is one wait of the consumer's:
    /// while retrying, the owned partitions are held (memory stays bounded, lag shows the stall)
    /// and the group membership kept alive; when the write ends, whatever it held fetches again.
    /// `caughtUp`: the batch holds all the indexer had read (a quiet moment); with
    /// `indexer.refresh: auto` its bulk asks Elasticsearch to make it searchable at once. The
    /// loop spaces such bulks by `forcedRefreshSpacing` (`untilRefreshAllowed`); a busy
    /// indexer's full bulks leave refreshing to the index's `refresh_interval`.
    func flush(_ batch: Batch, stopping: Bool, caughtUp: Bool = false) throws {
        let refresh = caughtUp && configuration.indexer.refresh == .auto
        if refresh { lastForcedRefresh.withLock { $0 = .now } }
        try consumer.waiting { try write(batch, refresh: refresh) }
    }

    static let forcedRefreshSpacing = Duration.milliseconds(100)

    /// Milliseconds before a caught-up bulk may ask for a refresh again (0 with `refresh: off`).
    func untilRefreshAllowed() -> Int {
        guard configuration.indexer.refresh == .auto else { return 0 }
        let left = Self.forcedRefreshSpacing - (ContinuousClock.now - lastForcedRefresh.withLock { $0 })
        return max(0, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
    }

    private func write(_ batch: Batch, refresh: Bool) throws {
        var pending: [(item: BulkItem, message: KafkaMessage, service: String)] = []
        var deadLetters: [(message: KafkaMessage, errorClass: String, reason: String)] = []
        for message in batch.messages {
            switch DocumentRouter.route(topic: message.topic, partition: message.partition, offset: message.offset, value: message.value) {
            case .success(let routed):
                pending.append((BulkItem(index: routed.index, id: routed.id, document: message.value), message, routed.service))
            case .failure(.notALogTopic):
                continue
            case .failure(.deadLetter(let errorClass, let reason)):
                deadLetters.append((message, errorClass, reason))
            }
        }
        try ensureIndices(Set(pending.map(\.item.index)), services: Dictionary(pending.map { ($0.item.index, $0.service) }, uniquingKeysWith: { a, _ in a }))

        // librdkafka keeps fetching the next batch (up to its prefetch bound, about one batch per
        // partition) while this one is written: measured on noida-db, pausing here instead left the
        // indexer waiting ~0.45 s per batch for the first records after each resume and halved its
        // throughput. Only while retrying are the partitions held.
        var attempt = 0
        // Partitions whose records this write gave up (revoked while retrying): never committed here.
        var abandoned = Set<TopicPartition>()
        while !pending.isEmpty {
            let started = Date()
            do {
                let results = try es.bulk(pending.map(\.item), refresh: refresh)
                let seconds = Date().timeIntervalSince(started)
                var retry: [(item: BulkItem, message: KafkaMessage, service: String)] = []
                var counts: [String: IndexerStats.Service] = [:]
                for (entry, result) in zip(pending, results) {
                    switch result.outcome {
                    case .created: counts[entry.service, default: .init()].indexed += 1
                    case .alreadyExists: counts[entry.service, default: .init()].duplicates += 1
                    case .retriable:
                        counts[entry.service, default: .init()].retried += 1
                        retry.append(entry)
                    case .rejected(let status, let type, let reason):
                        deadLetters.append((entry.message, "rejected", "\(status) \(type): \(reason)"))
                    }
                }
                let acknowledged = Int64(Date().timeIntervalSince1970 * 1_000)
                stats.recordBulk(seconds: seconds, documents: pending.count, acknowledgedAt: acknowledged,
                                 producedAt: zip(pending, results).compactMap { entry, result in
                                     if case .retriable = result.outcome { return nil }
                                     return entry.message.timestampMs
                                 })
                stats.update { state in
                    state.bulkRequests += 1
                    for (service, c) in counts {
                        state.services[service, default: .init()].indexed += c.indexed
                        state.services[service, default: .init()].duplicates += c.duplicates
                        state.services[service, default: .init()].retried += c.retried
                    }
                }
                if retry.count < pending.count { watchdog.progressed() }
                if !retry.isEmpty { watchdog.elasticsearchRefused() }
                logger.debug("bulk written", metadata: ["es.items": "\(pending.count)", "es.retry": "\(retry.count)",
                                                         "es.ms": "\(Int(seconds * 1000))"])
                pending = retry
                if pending.isEmpty { break }
                logger.warning("bulk items to retry", metadata: ["es.items": "\(pending.count)"])
            } catch let error as ElasticError {
                stats.update { $0.bulkFailures += 1; $0.lastError = error.message }
                watchdog.elasticsearchRefused()
                logger.error("bulk request failed; retrying", metadata: ["es.error": "\(error)", "es.attempt": "\(attempt)"])
            }
            consumer.holdAssignment()
            attempt += 1
            waitKeepingMembership(ms: RetryPolicy.backoffMs(attempt: attempt, capMs: 10_000, random: Double.random(in: 0.5..<1)))
            // Partitions taken away meanwhile: their records belong to the new owner now.
            let gone = book.revoked.withLock { $0 }
            if !gone.isEmpty {
                pending.removeAll { gone.contains($0.message.topicPartition) }
                deadLetters.removeAll { gone.contains($0.message.topicPartition) }
                abandoned.formUnion(gone)
            }
        }
        try sendDeadLetters(deadLetters)
        commit(batch, except: abandoned)
    }

    /// Sleeps in short polls so the group sees this member alive. A record such a poll receives
    /// is given back and its partition held until the wait ends (`KafkaConsumer.pollDuringWait`),
    /// so it is read again after this batch: nothing is skipped, and nothing stays paused.
    func waitKeepingMembership(ms: Int) {
        let deadline = Date().addingTimeInterval(Double(ms) / 1000)
        consumer.waiting {
            repeat {
                consumer.pollDuringWait(timeoutMs: Int32(min(max(ms, 1), 100)))
                if !isRunning && ms > 1_000 { return }
            } while Date() < deadline
        }
    }

    func sendDeadLetters(_ letters: [(message: KafkaMessage, errorClass: String, reason: String)]) throws {
        guard !letters.isEmpty else { return }
        let failures = Mutex(0)
        let group = DispatchGroup()
        for letter in letters {
            let m = letter.message
            group.enter()
            try producer.enqueue(topic: Naming.deadLetterTopic, key: m.key, value: m.value, headers: [
                KafkaHeader("source.topic", m.topic), KafkaHeader("source.partition", String(m.partition)),
                KafkaHeader("source.offset", String(m.offset)), KafkaHeader("error.class", letter.errorClass),
                KafkaHeader("error.reason", String(letter.reason.prefix(1_000))),
            ]) { result in
                if case .failure = result { failures.withLock { $0 += 1 } }
                group.leave()
            }
        }
        // message.timeout.ms=0: librdkafka retries until Kafka takes them; wait for every ack,
        // polling so the group keeps this member (what such polls receive is held, see
        // waitKeepingMembership).
        let started = Date()
        var warned = false
        while group.wait(timeout: .now() + 1) == .timedOut {
            if !warned && Date().timeIntervalSince(started) >= 5 {
                warned = true
                logger.warning("dead letters not acknowledged yet; waiting for Kafka (consumption held, nothing committed)",
                               metadata: ["kafka.topic": "\(Naming.deadLetterTopic)", "count": "\(letters.count)"])
            }
            waitKeepingMembership(ms: 0)
        }
        guard failures.withLock({ $0 }) == 0 else {
            throw IndexerError("dead letters were refused by Kafka; not committing (the batch will be re-read)")
        }
        watchdog.progressed()
        stats.update { state in
            for letter in letters {
                let service = Naming.service(ofTopic: letter.message.topic) ?? letter.message.topic
                state.services[service, default: .init()].deadLettered += 1
            }
        }
        logger.warning("records dead-lettered", metadata: ["kafka.topic": "\(Naming.deadLetterTopic)", "count": "\(letters.count)"])
    }

    /// Commits the batch for the partitions this member owns now, except those whose records it
    /// abandoned. A partition revoked during the write and assigned back (an eager rebalance, or
    /// the group coordinator restarting) is committed: every record of it was acknowledged, and
    /// committing spares re-writing them (dead letters, unlike documents, would be duplicated).
    func commit(_ batch: Batch, except abandoned: Set<TopicPartition> = []) {
        let owned = Set((try? consumer.assignment()) ?? [])
        let offsets = batch.commitOffsets.filter { owned.contains($0.key) && !abandoned.contains($0.key) }
        guard !offsets.isEmpty else { return }
        do {
            try consumer.commitBlocking(offsets)
            stats.update { $0.commits += 1 }
            book.uncommitted.withLock { pending in for (partition, offset) in offsets where pending[partition] ?? .max <= offset { pending.removeValue(forKey: partition) } }
        } catch {
            // Refused by a rebalance. An eager rebalance takes the partitions away and the new
            // owner re-reads these records (ids make that harmless); a cooperative one may leave
            // them here, already read: keep the offsets and commit them again after the rebalance.
            book.uncommitted.withLock { pending in pending.merge(offsets, uniquingKeysWith: max) }
            logger.warning("commit refused; retried after the rebalance", metadata: ["kafka.error": "\(error)"])
        }
    }

    /// Commits again what a rebalance refused, for the partitions still owned.
    func retryRefusedCommits() {
        let pending = book.uncommitted.withLock { $0 }
        guard !pending.isEmpty, Date() >= nextCommitRetry else { return }
        nextCommitRetry = Date().addingTimeInterval(0.5)
        let owned = Set((try? consumer.assignment()) ?? [])
        let offsets = pending.filter { owned.contains($0.key) }
        book.uncommitted.withLock { current in for key in pending.keys where !owned.contains(key) { current.removeValue(forKey: key) } }
        guard !offsets.isEmpty, (try? consumer.commitBlocking(offsets)) != nil else { return }
        book.uncommitted.withLock { current in for (partition, offset) in offsets where current[partition] == offset { current.removeValue(forKey: partition) } }
        stats.update { $0.commits += 1 }
    }

    /// Creates each new daily index with the service's read alias (idempotent).
    func ensureIndices(_ indices: Set<String>, services: [String: String]) throws {
        for index in indices.subtracting(knownIndices) {
            var attempt = 0
            while true {
                do {
                    try es.createIndex(index)
                    if let service = services[index] {
                        try es.updateAliases([.add(index: index, alias: Naming.alias(service: service))])
                    }
                    knownIndices.insert(index)
                    break
                } catch let error as ElasticError where error.isRetriable {
                    attempt += 1
                    watchdog.elasticsearchRefused()
                    logger.warning("cannot create index; retrying", metadata: ["es.index": "\(index)", "es.error": "\(error)"])
                    waitKeepingMembership(ms: RetryPolicy.backoffMs(attempt: attempt, capMs: 10_000, random: Double.random(in: 0.5..<1)))
                } catch let error as ElasticError {
                    throw IndexerError("cannot create index \(index): \(error.message)", needsOperator: error.kind == .tls || [401, 403].contains(error.code))
                }
            }
        }
    }
}

public struct IndexerError: Error, CustomStringConvertible {
    public let description: String
    /// Not worth retrying or restarting: the configuration or the cluster needs an operator.
    public let needsOperator: Bool
    public init(_ description: String, needsOperator: Bool = false) {
        self.description = description
        self.needsOperator = needsOperator
    }
}
