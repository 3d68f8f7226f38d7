import Synchronization

/// A histogram whose observations are counted by the caller in a `Tally` (no lock, no shared
/// write) and added a batch at a time under one lock: the agent records a delivery latency for
/// every event, and swift-prometheus's `Histogram.record` takes a lock and rewrites every bucket
/// per observation (~250 instructions an event on the delivery-report thread). Rendered by
/// `RoleMetrics` after the registry's metrics, in the same text format (cumulative buckets,
/// `+Inf`, `_sum`, `_count`).
public final class TallyHistogram: Sendable {
    public let name: String
    let help: String
    /// Upper bounds, ascending.
    public let bounds: [Double]
    private let state: Mutex<Tally>

    init(name: String, help: String, bounds: [Double]) {
        self.name = name
        self.help = help
        self.bounds = bounds
        state = Mutex(Tally(bounds: bounds))
    }

    /// Observations counted by one thread, added to the histogram by `add(_:)`.
    public struct Tally: Sendable {
        let bounds: [Double]
        /// Per bucket, not cumulative; the last one is over every bound (+Inf).
        var counts: [Int]
        public internal(set) var sum = 0.0
        public internal(set) var count = 0

        init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count + 1)
        }

        public mutating func record(_ value: Double) {
            var bucket = 0
            while bucket < bounds.count, value > bounds[bucket] { bucket += 1 }
            counts[bucket] += 1
            sum += value
            count += 1
        }

        /// How many observations are at most `bounds[index]` (index == bounds.count: all of them).
        public func cumulative(_ index: Int) -> Int { counts[...index].reduce(0, +) }
    }

    /// An empty tally for this histogram's buckets.
    public func makeTally() -> Tally { Tally(bounds: bounds) }

    /// Adds what `tally` counted, under one lock, and empties it.
    public func add(_ tally: inout Tally) {
        guard tally.count > 0 else { return }
        state.withLock { total in
            for bucket in total.counts.indices { total.counts[bucket] += tally.counts[bucket] }
            total.sum += tally.sum
            total.count += tally.count
        }
        for bucket in tally.counts.indices { tally.counts[bucket] = 0 }
        tally.sum = 0
        tally.count = 0
    }

    /// Everything added so far.
    public var total: Tally { state.withLock { $0 } }

    func emit(into text: inout String) {
        let total = self.total
        text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (index, bound) in bounds.enumerated() {
            text += "\(name)_bucket{le=\"\(bound.description)\"} \(total.cumulative(index))\n"
        }
        text += "\(name)_bucket{le=\"+Inf\"} \(total.count)\n\(name)_sum \(total.sum.description)\n\(name)_count \(total.count)\n"
    }
}
