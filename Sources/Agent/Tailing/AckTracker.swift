import Synchronization

/// Tracks records of one file in read order and tells how far *every* record has been
/// acknowledged. Acks arrive out of order (different partitions); the registry only advances
/// over a gap-free prefix.
public final class AckTracker: Sendable {
    private struct State {
        var ends: [Int64] = []
        var acked: [Bool] = []
        var head = 0
        var base: Int = 0          // sequence number of ends[0]
        var committed: Int64
        var pending = 0

        mutating func ack(_ sequence: Int) {
            let index = sequence - base
            guard index >= head, index < acked.count, !acked[index] else { return }
            acked[index] = true
            pending -= 1
            while head < acked.count, acked[head] {
                committed = ends[head]
                head += 1
            }
            if head > 4096 && head * 2 > acked.count {
                ends.removeFirst(head)
                acked.removeFirst(head)
                base += head
                head = 0
            }
        }
    }

    private let state: Mutex<State>

    public init(startOffset: Int64) {
        state = Mutex(State(committed: startOffset))
    }

    /// Registers the next record (ending at `endOffset`) and returns its sequence number.
    public func register(endOffset: Int64) -> Int {
        state.withLock { s in
            s.ends.append(endOffset)
            s.acked.append(false)
            s.pending += 1
            return s.base + s.ends.count - 1
        }
    }

    public func ack(_ sequence: Int) {
        state.withLock { s in s.ack(sequence) }
    }

    /// `ack` for each sequence number, under one lock.
    public func ack<S: Sequence<Int>>(all sequences: S) {
        state.withLock { s in
            for sequence in sequences { s.ack(sequence) }
        }
    }

    /// Every byte before this offset is acknowledged.
    public var committedOffset: Int64 { state.withLock { $0.committed } }
    public var pendingCount: Int { state.withLock { $0.pending } }
}
