import Foundation

/// A lock with a condition variable and the state it guards: `Mutex.withLock`, plus waiting
/// until the state is ready. The one place the project pairs a lock with state by hand
/// (@unchecked Sendable: `state` is only reached while `condition` is locked).
public final class LockedCondition<State>: @unchecked Sendable {
    private let condition = NSCondition()
    private var state: State

    public init(_ state: State) { self.state = state }

    /// Runs `body` on the state under the lock and wakes every waiter afterwards.
    @discardableResult
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&state)
    }

    /// Waits until `ready(state)` holds (or `deadline` passes, when given), then runs `body`
    /// under the same lock — whether or not it became ready — and wakes the other waiters.
    @discardableResult
    public func wait<R>(until deadline: Date? = nil, for ready: (State) -> Bool, _ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        while !ready(state) {
            if let deadline {
                if !condition.wait(until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        return try body(&state)
    }
}
