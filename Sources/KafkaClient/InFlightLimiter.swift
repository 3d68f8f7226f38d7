import Foundation
import Synchronization

/// Bounds the number of messages awaiting a delivery report. Dedicated threads block in
/// `acquireBlocking`; async callers suspend in `acquire`. Nothing grows without bound.
/// The common case (room available) is one atomic compare-and-swap, no lock: the agent takes
/// a slot per shipped line.
final class InFlightLimiter: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)
    /// Suspended async callers; checked under its lock by both sides, so no wake-up is missed.
    private let waiters = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let hasWaiters = Atomic<Bool>(false)
    /// Threads blocked in `acquireBlocking`.
    private let sleepers = Atomic<Int>(0)
    private let condition = NSCondition()

    init(limit: Int) {
        self.limit = max(limit, 1)
    }

    var inFlight: Int { count.load(ordering: .relaxed) }

    func tryAcquire() -> Bool {
        var current = count.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = count.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func acquireBlocking() {
        if tryAcquire() { return }
        sleepers.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.subtract(1, ordering: .sequentiallyConsistent) }
        condition.lock()
        defer { condition.unlock() }
        while !tryAcquire() {
            // Timed, so a signal sent between the check and the wait costs 10 ms, not a hang.
            condition.wait(until: Date().addingTimeInterval(0.01))
        }
    }

    /// Waits until a slot is free (without taking it), at most `timeoutMs`. True when one is.
    func waitForRoom(timeoutMs: Int) -> Bool {
        if count.load(ordering: .relaxed) < limit { return true }
        sleepers.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.subtract(1, ordering: .sequentiallyConsistent) }
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        condition.lock()
        defer { condition.unlock() }
        while count.load(ordering: .relaxed) >= limit {
            guard Date() < deadline else { return false }
            condition.wait(until: min(deadline, Date().addingTimeInterval(0.01)))
        }
        return true
    }

    func acquire() async {
        if tryAcquire() { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = waiters.withLock { waiters -> Bool in
                if tryAcquire() { return true }
                waiters.append(continuation)
                hasWaiters.store(true, ordering: .sequentiallyConsistent)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    /// Frees `slots` slots; hands them straight to suspended async waiters when there are any.
    func release(_ slots: Int = 1) {
        count.subtract(slots, ordering: .acquiringAndReleasing)
        if hasWaiters.load(ordering: .sequentiallyConsistent) {
            let admitted = waiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
                var admitted: [CheckedContinuation<Void, Never>] = []
                while admitted.count < slots, !waiters.isEmpty, tryAcquire() { admitted.append(waiters.removeFirst()) }
                if waiters.isEmpty { hasWaiters.store(false, ordering: .sequentiallyConsistent) }
                return admitted
            }
            for next in admitted { next.resume() }
            if admitted.count == slots { return }
        }
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            condition.lock()
            condition.broadcast()
            condition.unlock()
        }
    }
}
