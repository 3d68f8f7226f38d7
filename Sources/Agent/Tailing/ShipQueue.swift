import Foundation
import LogModel

/// Records on their way from the agent's reading thread to its shipping thread (which parses,
/// masks, encodes and produces them), in read order and in batches. At most `capacity` batches
/// wait: when shipping falls behind (Kafka down, the in-flight bound reached) the reading
/// thread waits in `put`, so reading pauses instead of memory growing.
final class ShipQueue<Item: Sendable>: Sendable {
    private struct State {
        var batches: [[Item]] = []
        var closed = false
    }

    private let state = LockedCondition(State())
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// Appends a batch, waiting while `capacity` batches are queued.
    func put(_ batch: [Item]) {
        let capacity = self.capacity
        state.wait(for: { $0.batches.count < capacity }) { $0.batches.append(batch) }
    }

    /// The oldest batch, waiting up to `timeout` seconds for one; nil when none came.
    func take(timeout: TimeInterval) -> [Item]? {
        state.wait(until: Date(timeIntervalSinceNow: timeout), for: { !$0.batches.isEmpty || $0.closed }) { state in
            state.batches.isEmpty ? nil : state.batches.removeFirst()
        }
    }

    /// No more batches will come; `isFinished` once the queued ones are taken.
    func close() { state.withLock { $0.closed = true } }

    var isFinished: Bool { state.withLock { $0.closed && $0.batches.isEmpty } }
}
