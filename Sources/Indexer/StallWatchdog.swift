import Foundation
import KafkaClient
import Synchronization

/// Notices an indexer that stopped moving although it could: owned partitions with lag, Kafka
/// and Elasticsearch answering, and no record fetched or indexed for `timeout`. Time spent with
/// Elasticsearch refusing (down, 429, 5xx) does not count: waiting then is the contract, and the
/// lag shows it. A stall is reported once as an error line naming the partitions and their
/// pause state, and as status `stalled` in the heartbeat until the indexer moves again.
final class StallWatchdog: Sendable {
    struct State {
        var lastProgress: ContinuousClock.Instant
        var lastRefusal: ContinuousClock.Instant?
        var stall: String?
    }

    let timeout: Duration
    /// How often to check: a quarter of the timeout, between 100 ms and 5 s.
    let checkIntervalMs: Int
    private let state: Mutex<State>

    init(timeoutMs: Int, now: ContinuousClock.Instant = .now) {
        timeout = .milliseconds(timeoutMs)
        checkIntervalMs = max(min(timeoutMs / 4, 5_000), 100)
        state = Mutex(State(lastProgress: now))
    }

    /// A record fetched, a document acknowledged, dead letters acknowledged.
    func progressed(at now: ContinuousClock.Instant = .now) { state.withLock { $0.lastProgress = now } }

    /// Elasticsearch did not take what it was sent (connection, timeout, 429, 5xx).
    func elasticsearchRefused(at now: ContinuousClock.Instant = .now) { state.withLock { $0.lastRefusal = now } }

    /// The current stall's description, nil when the indexer is not stalled.
    var stall: String? { state.withLock { $0.stall } }

    /// How long the indexer has been quiet for a reason of its own: since it last moved, or since
    /// Elasticsearch last refused, whichever is later.
    func quiet(at now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { state in now - max(state.lastProgress, state.lastRefusal ?? state.lastProgress) }
    }

    /// Records the verdict of one check; returns what changed, for the caller to log.
    func record(_ stall: String?) -> Change {
        state.withLock { state in
            defer { state.stall = stall }
            switch (state.stall, stall) {
            case (nil, .some(let reason)): return .began(reason)
            case (.some, nil): return .ended
            default: return .none
            }
        }
    }

    enum Change: Equatable { case none, began(String), ended }

    /// The stall's description: how long, and each partition behind with its pause state.
    static func describe(quiet: Duration, behind: [(partition: TopicPartition, lag: Int64, state: String)]) -> String {
        let seconds = Int(quiet.components.seconds)
        let partitions = behind.sorted { $0.partition < $1.partition }.map { "\($0.partition) lag \($0.lag) \($0.state)" }
        return "no record fetched or indexed for \(seconds) s while Elasticsearch answers and \(behind.count) owned partition(s) have lag: "
            + partitions.joined(separator: ", ")
    }

    /// How a partition's pause state reads in a stall report.
    static func describe(_ pause: (state: PartitionPauses.State?, leaked: Bool)) -> String {
        switch pause.state {
        case .held: pause.leaked ? "paused outside any wait (nothing will resume it)" : "held by a wait in progress"
        case .idle: "paused at its end (idle backoff)"
        case .fetching: "fetching"
        case nil: "not assigned"
        }
    }
}
