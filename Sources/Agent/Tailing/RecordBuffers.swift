import Synchronization

/// The byte buffers of records the shipping thread is done with, handed back to the reading
/// thread to hold the next records' bytes: a record costs no heap allocation on the reading
/// thread and no free on the shipping thread (a buffer malloc'd by one thread and freed by the
/// other took glibc's slow paths both ways: ~350 instructions a line of malloc and free in the
/// whole agent under callgrind).
/// Bounded by the records in flight (the ship queue's batches, the batch being filled and the
/// one being shipped); a buffer larger than `maxCapacity` (a long traceback's) is not kept, and
/// `drop()` lets all go when the agent goes quiet.
final class RecordBuffers: @unchecked Sendable {
    static let maxCapacity = 2_048
    /// Given back by the shipping thread, a batch at a time (one lock a batch; the batch's array
    /// moved, its buffers not copied one by one).
    private let returned = Mutex<[[[UInt8]]]>([])
    /// The reading thread's own: only `make` and `drop`, on that thread, touch them (hence unchecked).
    private var spareBatches: [[[UInt8]]] = []
    private var spare: [[UInt8]] = []

    /// Reading thread: a buffer holding exactly `bytes` (a spare one when there is one).
    func make(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        if spare.isEmpty {
            if spareBatches.isEmpty { returned.withLock { swap(&$0, &spareBatches) } }
            guard let batch = spareBatches.popLast() else { return Array(bytes) }
            spare = batch
        }
        var buffer = spare.removeLast()
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: bytes)
        return buffer
    }

    /// Shipping thread: the buffers of a batch it is done with (the records themselves gone, so
    /// each buffer is referenced once and refilled in place).
    func giveBack(_ buffers: consuming [[UInt8]]) {
        var buffers = buffers
        buffers.removeAll { $0.capacity > Self.maxCapacity }
        guard !buffers.isEmpty else { return }
        returned.withLock { $0.append(buffers) }
    }

    /// Reading thread: lets every spare buffer go (the agent is quiet; the heap is trimmed next).
    func drop() {
        spare = []
        spareBatches = []
        returned.withLock { $0 = [] }
    }

    /// Buffers waiting to be reused (tests).
    var spareCount: Int {
        spare.count + spareBatches.reduce(0) { $0 + $1.count } + returned.withLock { $0.reduce(0) { $0 + $1.count } }
    }
}
