import Synchronization

/// What each message in flight acknowledges: the record's place in its file's tracker and its
/// input. The producer carries only the token (a slot number): nothing is allocated per message.
final class DeliveryLedger: Sendable {
    struct Entry {
        var tracker: AckTracker
        var sequence: Int
        var pipeline: InputPipeline
        /// When the record was read (ms since the epoch): the start of its delivery latency.
        var readMs: Int64
    }

    private struct State {
        var entries: [Entry?] = []
        var free: [Int] = []

        mutating func take(_ token: UInt) -> Entry {
            let slot = Int(token) - 1
            free.append(slot)
            return entries[slot].take()!
        }
    }

    private let state = Mutex(State())

    /// A token (≥ 1) for the entry, until `close`.
    func open(_ entry: Entry) -> UInt {
        state.withLock { state in
            if let slot = state.free.popLast() {
                state.entries[slot] = entry
                return UInt(slot + 1)
            }
            state.entries.append(entry)
            return UInt(state.entries.count)
        }
    }

    func close(_ token: UInt) -> Entry {
        state.withLock { $0.take(token) }
    }

    /// `close` for each token, under one lock; the entries are appended to `entries` in order.
    func close(_ tokens: UnsafeBufferPointer<UInt>, into entries: inout [Entry]) {
        state.withLock { state in
            for token in tokens { entries.append(state.take(token)) }
        }
    }
}

/// Delivery counts per input, bumped by the producer's report thread without a lock and moved
/// into `AgentStats` by the agent loop.
final class DeliveryCounts: Sendable {
    let sent = Atomic<Int64>(0)
    let failed = Atomic<Int64>(0)
}
