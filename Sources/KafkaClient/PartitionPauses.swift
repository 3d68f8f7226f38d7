/// The one owner of pause and resume for a consumer's partitions: a small state machine per
/// assigned partition whose transitions return the librdkafka calls to make (`KafkaConsumer`
/// performs them, outside the lock). Two things pause a partition:
/// - **idle**: its end was reached; it is fetched again after a backoff (brokers such as
///   noida-db answer an empty fetch at once, so a caught-up consumer would spin);
/// - **held**: the application waits on something (Elasticsearch, a dead-letter write) and must
///   not read further. Holds exist only inside a wait (`beginWait`/`endWait`, nested), and the
///   end of the outermost wait resumes every partition held in it that is still assigned.
/// A held partition is never resumed by the idle backoff; a revoked one is forgotten, so nothing
/// is resumed that another member owns. The indexer stalled for good when one helper paused
/// partitions and only another path resumed them: here no path pauses without its resume.
public struct PartitionPauses: Sendable {
    public enum State: Equatable, Sendable {
        case fetching
        case idle(since: ContinuousClock.Instant)
        case held
    }

    public enum Action: Equatable, Sendable {
        case pause([TopicPartition])
        case resume([TopicPartition])
        /// Moves the fetch position back, so records handed out during a wait are read again.
        case seek(TopicPartition, Int64)
    }

    private(set) var states: [TopicPartition: State] = [:]
    /// Waits under way (they nest: a dead-letter write inside a batch write).
    public private(set) var waits = 0
    /// Holds made outside any wait: only `leakHold` (a test hook) makes them. The watchdog names them.
    public private(set) var leaked: Set<TopicPartition> = []

    public init() {}

    public func state(of partition: TopicPartition) -> State? { states[partition] }
    public var assigned: [TopicPartition] { states.keys.sorted() }

    /// Newly assigned partitions fetch. librdkafka keeps a partition's pause flag across a
    /// cooperative unassign/assign, so they are resumed explicitly.
    public mutating func assigned(_ partitions: [TopicPartition]) -> [Action] {
        for partition in partitions {
            states[partition] = .fetching
            leaked.remove(partition)
        }
        return partitions.isEmpty ? [] : [.resume(partitions)]
    }

    /// Revoked or lost partitions are forgotten: librdkafka drops them, and no later resume may touch them.
    public mutating func revoked(_ partitions: [TopicPartition]) {
        for partition in partitions {
            states.removeValue(forKey: partition)
            leaked.remove(partition)
        }
    }

    /// The application read to the end of a fetching partition: pause it for the idle backoff.
    public mutating func reachedEnd(_ partition: TopicPartition, at now: ContinuousClock.Instant) -> [Action] {
        guard states[partition] == .fetching else { return [] }
        states[partition] = .idle(since: now)
        return [.pause([partition])]
    }

    /// Idle partitions whose backoff has passed fetch again.
    public mutating func idleDue(at now: ContinuousClock.Instant, backoff: Duration) -> [Action] {
        var due: [TopicPartition] = []
        for (partition, state) in states {
            if case .idle(let since) = state, now - since >= backoff { due.append(partition) }
        }
        guard !due.isEmpty else { return [] }
        due.sort()
        for partition in due { states[partition] = .fetching }
        return [.resume(due)]
    }

    public mutating func beginWait() { waits += 1 }

    /// Holds every assigned partition for the rest of the wait (a batch write that must retry).
    public mutating func holdAll() -> [Action] {
        precondition(waits > 0, "holdAll outside a wait: nothing would resume the partitions")
        return hold(states.keys.sorted())
    }

    /// Records handed out while waiting (polls that keep the group membership): each partition
    /// goes back to its first such record and is held, so it is read again after the wait.
    public mutating func polledDuringWait(firstOffsets: [TopicPartition: Int64]) -> [Action] {
        precondition(waits > 0, "polledDuringWait outside a wait: nothing would resume the partitions")
        let partitions = firstOffsets.keys.filter { states[$0] != nil }.sorted()
        guard !partitions.isEmpty else { return [] }
        var actions = partitions.map { Action.seek($0, firstOffsets[$0]!) }
        actions += hold(partitions)
        return actions
    }

    /// Ends a wait; the outermost one resumes every partition held in it.
    public mutating func endWait() -> [Action] {
        precondition(waits > 0, "endWait without beginWait")
        waits -= 1
        guard waits == 0 else { return [] }
        let held = states.filter { $0.value == .held && !leaked.contains($0.key) }.map(\.key).sorted()
        guard !held.isEmpty else { return [] }
        for partition in held { states[partition] = .fetching }
        return [.resume(held)]
    }

    /// Test hook: holds partitions outside any wait, as the bug this type replaces did, so the
    /// stall watchdog can be tested. Nothing resumes them but a new assignment.
    public mutating func leakHold(_ partitions: [TopicPartition]) -> [Action] {
        let assigned = partitions.filter { states[$0] != nil }
        leaked.formUnion(assigned)
        return hold(assigned)
    }

    private mutating func hold(_ partitions: [TopicPartition]) -> [Action] {
        var pause: [TopicPartition] = []
        for partition in partitions {
            guard let state = states[partition] else { continue }
            // An idle partition is paused already; a held one too.
            if state == .fetching { pause.append(partition) }
            states[partition] = .held
        }
        return pause.isEmpty ? [] : [.pause(pause)]
    }
}
