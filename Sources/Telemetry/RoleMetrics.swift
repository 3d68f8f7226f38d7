import Foundation
import Prometheus
import Synchronization

/// One role's metrics: a swift-prometheus registry (the swift-metrics backend) that renders
/// `/metrics` and the agent's textfile. Each role instance has its own registry, so roles run
/// in one process (tests, the demo) do not mix their series.
///
/// Two ways in: histograms (and anything counted where it happens) are recorded directly;
/// counters a role already keeps in its own atomics (the agent's hot path) are published as
/// absolute values with `publish(counter:)`, which adds the difference since the last publish —
/// the registry stays the only renderer, the hot path keeps its plain atomic adds.
public final class RoleMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let published = Mutex<[String: Int64]>([:])
    private let gauges = Mutex<[String: Set<String>]>([:])
    private let tallies = Mutex<[TallyHistogram]>([])

    /// `role` and `version` label `logship_build_info`.
    public init(role: String, version: String) {
        registry = PrometheusCollectorRegistry()
        registry.makeGauge(name: "logship_build_info", labels: [("role", role), ("version", version)],
                           help: "Always 1; labels name the role and the logship version.").set(to: 1.0)
    }

    /// Prometheus text format 0.0.4: the registry's metrics, then the tally histograms.
    public func render() -> String {
        var text = registry.emitToString()
        for histogram in tallies.withLock({ $0 }) { histogram.emit(into: &text) }
        return text
    }

    /// Sets a counter to an absolute value the role keeps itself (monotonic).
    public func publish(counter name: String, help: String, labels: [(String, String)] = [], value: Int64) {
        let key = name + Self.key(labels)
        let delta = published.withLock { last -> Int64 in
            let delta = value - (last[key] ?? 0)
            if delta > 0 { last[key] = value }
            return delta
        }
        let counter = registry.makeCounter(name: name, labels: labels, help: help)
        if delta > 0 { counter.increment(by: delta) }
    }

    /// Sets the series of a labelled gauge family at once: series not in `samples` any more
    /// (a file no longer tailed, a partition given away) are removed, not left at their last value.
    public func publish(gauge name: String, help: String, samples: [(labels: [(String, String)], value: Double)]) {
        let keys = Set(samples.map { Self.key($0.labels) })
        let gone = gauges.withLock { families -> Set<String> in
            let gone = (families[name] ?? []).subtracting(keys)
            families[name] = keys
            return gone
        }
        for labels in gone {
            registry.unregisterGauge(registry.makeGauge(name: name, labels: Self.labels(fromKey: labels), help: help))
        }
        for sample in samples {
            registry.makeGauge(name: name, labels: sample.labels, help: help).set(sample.value)
        }
    }

    public func publish(gauge name: String, help: String, value: Double) {
        registry.makeGauge(name: name, help: help).set(value)
    }

    /// A histogram of values (batch sizes, seconds).
    public func histogram(_ name: String, help: String, buckets: [Double], labels: [(String, String)] = []) -> ValueHistogram {
        registry.makeValueHistogram(name: name, labels: labels, buckets: buckets, help: help)
    }

    /// A histogram counted a batch at a time (`TallyHistogram`): for a value observed per event.
    public func tallyHistogram(_ name: String, help: String, buckets: [Double]) -> TallyHistogram {
        let histogram = TallyHistogram(name: name, help: help, bounds: buckets)
        tallies.withLock { $0.append(histogram) }
        return histogram
    }

    /// Seconds from 5 ms to 60 s: bulk requests, end-to-end latency.
    public static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]
    /// Documents per batch.
    public static let batchBuckets: [Double] = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]

    static func key(_ labels: [(String, String)]) -> String {
        labels.map { "\($0.0)\u{1}\($0.1)" }.joined(separator: "\u{2}")
    }

    static func labels(fromKey key: String) -> [(String, String)] {
        key.isEmpty ? [] : key.split(separator: "\u{2}", omittingEmptySubsequences: false).map { pair in
            let parts = pair.split(separator: "\u{1}", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }
}
