import ElasticClient
import Foundation
import KafkaClient

extension IndexerService {
    /// Checks for a stall on a timer thread of its own, so a run loop stuck anywhere (a poll that
    /// gets nothing, a wait that never ends) is still seen.
    func startWatchdog() {
        let interval = DispatchTimeInterval.milliseconds(watchdog.checkIntervalMs)
        watchdogTimer.withLock { slot in
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "logship.indexer.watchdog"))
            timer.schedule(deadline: .now() + interval, repeating: interval)
            timer.setEventHandler { [weak self] in self?.checkForStall() }
            timer.resume()
            slot = timer
        }
    }

    func checkForStall() {
        let quiet = watchdog.quiet()
        var verdict: String?
        if quiet >= watchdog.timeout {
            // Log ends asked of the brokers: a paused partition's cached end does not move.
            let behind = consumer.lag(askingBrokersMs: 2_000).filter { $0.value > 0 }
            if !behind.isEmpty {
                if (try? probe.requestBlocking("GET", "/"))?.isSuccess == true {
                    verdict = StallWatchdog.describe(quiet: quiet, behind: behind.map { partition, lag in
                        (partition, lag, StallWatchdog.describe(consumer.pauseState(of: partition)))
                    })
                } else {
                    watchdog.elasticsearchRefused()
                }
            }
        }
        switch watchdog.record(verdict) {
        case .began(let reason):
            stats.update { $0.stalled = true }
            logger.error("indexer stalled", metadata: ["indexer.stall": "\(reason)"])
        case .ended:
            stats.update { $0.stalled = false }
            logger.info("indexer moving again after a stall")
        case .none:
            break
        }
    }
}
