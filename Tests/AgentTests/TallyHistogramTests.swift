import Foundation
import Telemetry
import Testing

/// The agent's delivery-latency histogram is counted a batch at a time (`TallyHistogram`) and
/// rendered by `RoleMetrics`: the same text as swift-prometheus's histogram for the same
/// observations, whatever the batches.
@Suite struct TallyHistogramTests {
    static func lines(of name: String, in text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains(name) }
    }

    @Test func rendersWhatThePrometheusHistogramRendersForTheSameValues() {
        let name = "logship_test_latency_seconds", help = "Seconds from a to b."
        let batched = RoleMetrics(role: "test", version: "0"), direct = RoleMetrics(role: "test", version: "0")
        let tallied = batched.tallyHistogram(name, help: help, buckets: RoleMetrics.latencyBuckets)
        let reference = direct.histogram(name, help: help, buckets: RoleMetrics.latencyBuckets)
        // Values on, between, below and beyond the bounds, in batches of 1 to 50.
        var values = RoleMetrics.latencyBuckets + RoleMetrics.latencyBuckets.map { $0 * 1.5 } + [0, 0.001, 61, 1_000]
        values += (0..<500).map { Double($0 % 97) * 0.013 }
        var tally = tallied.makeTally()
        for (index, value) in values.enumerated() {
            reference.record(value)
            tally.record(value)
            if index % 50 == 7 || index % 13 == 0 { tallied.add(&tally) }
        }
        tallied.add(&tally)
        #expect(tally.count == 0 && tally.sum == 0)
        #expect(tallied.total.count == values.count)
        let ours = Self.lines(of: name, in: batched.render()), theirs = Self.lines(of: name, in: direct.render())
        #expect(ours.count == RoleMetrics.latencyBuckets.count + 5)  // HELP, TYPE, buckets, +Inf, sum, count
        // The same lines; the sum the same up to rounding (added a batch at a time, not one by one).
        let isSum = { (line: String) in line.hasPrefix(name + "_sum ") }
        #expect(ours.filter { !isSum($0) } == theirs.filter { !isSum($0) })
        let sums = [ours, theirs].map { Double($0.first(where: isSum)!.split(separator: " ")[1])! }
        #expect(abs(sums[0] - sums[1]) < 1e-9 * sums[1])
    }
}
