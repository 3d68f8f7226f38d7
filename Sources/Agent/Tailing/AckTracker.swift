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
        state.withLock { s in
            let index = sequence - s.base
            guard index >= s.head, index < s.acked.count, !s.acked[index] else { return }
            s.acked[index] = true
            s.pending -= 1
            while s.head < s.acked.count, s.acked[s.head] {
                s.committed = s.ends[s.head]
                s.head += 1
            }
            if s.head > 4096 && s.head * 2 > s.acked.count {
                s.ends.removeFirst(s.head)
                s.acked.removeFirst(s.head)
                s.base += s.head
                s.head = 0
            }
        }
    }

    /// Every byte before this offset is acknowledged.
    public var committedOffset: Int64 { state.withLock { $0.committed } }
    public var pendingCount: Int { state.withLock { $0.pending } }
}
