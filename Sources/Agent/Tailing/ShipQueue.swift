import Foundation

/// Records on their way from the agent's reading thread to its shipping thread (which parses,
/// masks, encodes and produces them), in read order and in batches. At most `capacity` batches
/// wait: when shipping falls behind (Kafka down, the in-flight bound reached) the reading
/// thread waits in `put`, so reading pauses instead of memory growing.
final class ShipQueue<Item>: @unchecked Sendable {
    private let condition = NSCondition()
    private var batches: [[Item]] = []
    private var closed = false
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    /// Appends a batch, waiting while `capacity` batches are queued.
    func put(_ batch: [Item]) {
        condition.lock()
        defer { condition.unlock() }
        while batches.count >= capacity { condition.wait() }
        batches.append(batch)
        condition.broadcast()
    }

    /// The oldest batch, waiting up to `timeout` seconds for one; nil when none came.
    func take(timeout: TimeInterval) -> [Item]? {
        condition.lock()
        defer { condition.unlock() }
        if batches.isEmpty && !closed { _ = condition.wait(until: Date(timeIntervalSinceNow: timeout)) }
        guard !batches.isEmpty else { return nil }
        let batch = batches.removeFirst()
        condition.broadcast()
        return batch
    }

    /// No more batches will come; `isFinished` once the queued ones are taken.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    var isFinished: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed && batches.isEmpty
    }
}
