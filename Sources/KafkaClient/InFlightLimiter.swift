import Foundation
import Synchronization

/// Bounds the number of messages awaiting a delivery report. Dedicated threads block in
/// `acquireBlocking`; async callers suspend in `acquire`. Nothing grows without bound.
final class InFlightLimiter: Sendable {
    private struct State {
        var inFlight = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let limit: Int
    private let state = Mutex(State())
    private let condition = NSCondition()

    init(limit: Int) {
        self.limit = max(limit, 1)
    }

    var inFlight: Int { state.withLock { $0.inFlight } }

    func tryAcquire() -> Bool {
        state.withLock { state in
            guard state.inFlight < limit else { return false }
            state.inFlight += 1
            return true
        }
    }

    func acquireBlocking() {
        condition.lock()
        defer { condition.unlock() }
        while !tryAcquire() {
            condition.wait(until: Date().addingTimeInterval(0.1))
        }
    }

    func acquire() async {
        if tryAcquire() { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { state -> Bool in
                if state.inFlight < limit {
                    state.inFlight += 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
    }

    /// Frees one slot; hands it straight to a suspended async waiter when there is one.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.inFlight -= 1
            return nil
        }
        if let next {
            next.resume()
        } else {
            condition.lock()
            condition.signal()
            condition.unlock()
        }
    }
}
