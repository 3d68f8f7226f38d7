import Foundation
import LogModel
import Synchronization

/// A role's "please stop": set once (from the service group's graceful-shutdown handler or a
/// test), seen at once by a loop that waits on it instead of sleeping, so a stop never waits
/// for a sleep to run out.
public final class StopSignal: Sendable {
    private let stopped = Atomic<Bool>(false)
    /// Wakes waiters (the flag is also kept here so a wait and a stop cannot cross).
    private let condition = LockedCondition(false)

    public init() {}

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }
    public var isRunning: Bool { !isStopped }

    public func stop() {
        condition.withLock { stopping in
            stopping = true
            stopped.store(true, ordering: .releasing)
        }
    }

    /// Waits up to `seconds`, or less if stopped meanwhile. Returns `true` when stopped.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        guard seconds > 0 else { return isStopped }
        return condition.wait(until: Date().addingTimeInterval(seconds), for: { $0 }) { $0 }
    }

    @discardableResult
    public func wait(ms: Int) -> Bool { wait(seconds: Double(ms) / 1_000) }
}
