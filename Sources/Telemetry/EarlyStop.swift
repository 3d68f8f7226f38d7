import Dispatch
import Foundation
import ServiceLifecycle
import Synchronization

/// SIGTERM and SIGINT that arrive while a role is still being set up — its Kafka clients already
/// running, its ServiceGroup not yet trapping signals — would end the process by the signals'
/// default action (killed, exit 143, nothing flushed or saved). A role command calls `trap()`
/// first; such a signal is then remembered, and the role's group, once made, shuts down
/// gracefully at once (ServiceGroup keeps a request made before it runs). Later signals reach
/// the group's own handlers as well; a second request is a no-op.
public enum EarlyStop {
    private static let state = Mutex<(requested: Bool, group: ServiceGroup?)>((false, nil))
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []

    public static func trap() {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let group = state.withLock { state -> ServiceGroup? in
                    state.requested = true
                    return state.group
                }
                if let group { Task { await group.triggerGracefulShutdown() } }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The group a remembered (or later) signal stops.
    static func attach(_ group: ServiceGroup) async {
        let requested = state.withLock { state -> Bool in
            state.group = group
            return state.requested
        }
        if requested { await group.triggerGracefulShutdown() }
    }
}
