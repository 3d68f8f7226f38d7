@testable import Detector
import LogModel
import Testing

/// The detector's two stages without Kafka: counters turn the events of the partitions they own
/// into partial window counts, the judge merges them. The same stream judged through one counter
/// and through two (other step sizes, other interleaving) gives the same alerts, ids included —
/// and the same as the single-stage engine on the whole stream.
@Suite struct TwoStageTests {
    /// IncidentTests' call chain plus search, each service's events spread over 3 partitions.
    static func sources() -> [String: [DetectorEvent]] {
        var sources: [String: [DetectorEvent]] = [:]
        for (index, event) in IncidentTests.stream().enumerated() {
            let partition = (event.traceID?.utf8.reduce(0) { $0 &+ Int($1) } ?? index) % 3
            sources["logs.\(event.service)/\(partition)", default: []].append(event)
        }
        return sources
    }

    /// Counters owning `owners` (source lists), each reading `step` events a source per step,
    /// their partials merged by one judge in the order the steps ran (round robin).
    static func judge(_ owners: [[String]], steps: [Int], sources events: [String: [DetectorEvent]] = sources(),
                      engine: DetectorEngine = DetectorEngine()) -> [Alert] {
        let counter = PartialCounter(windowMs: 60_000, slowNs: 1_000_000_000)
        var positions: [String: Int] = [:]
        var watermarks: [String: Int64] = [:]
        var alerts: [Alert] = []
        var done = Array(repeating: false, count: owners.count)
        while done.contains(false) {
            for (member, owned) in owners.enumerated() where !done[member] {
                var batch: [(source: String, event: DetectorEvent)] = []
                for source in owned {
                    let from = positions[source] ?? 0
                    let slice = events[source]![from..<min(from + steps[member], events[source]!.count)]
                    batch += slice.map { (source, $0) }
                    positions[source] = from + slice.count
                }
                if batch.isEmpty {
                    // Every source read to its end: idle partials, so the judge stops waiting.
                    for source in owned {
                        alerts += engine.merge(WindowPartial(service: events[source]![0].service, source: source, partitions: 3,
                                                             watermarkMs: watermarks[source]!, idle: true, windows: []))
                    }
                    done[member] = true
                    continue
                }
                let partials = counter.count(batch, previous: watermarks) { _ in 3 }
                for partial in partials { watermarks[partial.source] = partial.watermarkMs }
                alerts += engine.merge(partials)
            }
        }
        return alerts + engine.drainPending()
    }

    @Test func oneCounterAndTwoGiveTheSameAlerts() {
        let all = Self.sources().keys.sorted()
        let one = Self.judge([all], steps: [700])
        let two = Self.judge([all.enumerated().filter { $0.offset % 2 == 0 }.map(\.element),
                              all.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)], steps: [450, 1_300])
        #expect(!one.isEmpty)
        #expect(one.map(\.id).sorted() == two.map(\.id).sorted(), "\(one.map { "\($0.service) \($0.rule) \($0.state)" })")
        #expect(Set(one.compactMap(\.incident?.id)) == Set(two.compactMap(\.incident?.id)) && Set(one.compactMap(\.incident?.id)).count == 1)
        // The single-stage engine over the whole stream, for reference: the same alerts.
        let single = DetectorEngine()
        var reference: [Alert] = []
        for event in IncidentTests.stream() { reference += single.ingest(event) }
        reference += single.advance(toMs: IncidentTests.t0 + 80 * IncidentTests.minute) + single.drainPending()
        #expect(Set(one.map(\.id)).isSubset(of: Set(reference.map(\.id))) && one.filter { $0.state == "firing" }.count
                    == reference.filter { $0.state == "firing" }.count,
                "\(one.map { "\($0.service) \($0.rule) \($0.state) \($0.window.end)" }) vs \(reference.map { "\($0.service) \($0.rule) \($0.state) \($0.window.end)" })")
    }
}
