import Foundation
import Synchronization

/// A role's "please stop": set once (from the service group's graceful-shutdown handler or a
/// test), seen at once by a loop that waits on it instead of sleeping, so a stop never waits
/// for a sleep to run out.
public final class StopSignal: Sendable {
    private let stopped = Atomic<Bool>(false)
    /// Wakes waiters; a semaphore signalled once per waiter would need to count them, a
    /// condition needs nothing but the lock it is.
    private let condition = ConditionBox()

    public init() {}

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }
    public var isRunning: Bool { !isStopped }

    public func stop() {
        condition.lock.lock()
        stopped.store(true, ordering: .releasing)
        condition.lock.broadcast()
        condition.lock.unlock()
    }

    /// Waits up to `seconds`, or less if stopped meanwhile. Returns `true` when stopped.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        guard seconds > 0 else { return isStopped }
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock.lock()
        defer { condition.lock.unlock() }
        while !isStopped {
            if !condition.lock.wait(until: deadline) { break }
        }
        return isStopped
    }

    public func wait(ms: Int) -> Bool { wait(seconds: Double(ms) / 1_000) }
}

/// Owns an `NSCondition` — a lock, which is what makes sharing it across threads safe.
private final class ConditionBox: @unchecked Sendable {
    let lock = NSCondition()
}
