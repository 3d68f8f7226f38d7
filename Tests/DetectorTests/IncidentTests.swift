@testable import Detector
import LogModel
import Testing

/// One failure spreading along a call chain (gateway → orders → payment) is one incident named
/// after payment, whose failing span is the deepest; a service failing at the same time for its
/// own reasons (other traces) is not in it.
@Suite struct IncidentTests {
    static let t0: Int64 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000
    static let minute: Int64 = 60_000

    static func stream() -> [DetectorEvent] {
        var events: [DetectorEvent] = []
        // Call depth: payment is called by orders, which is called by gateway.
        let depth = ["payment": 0, "orders": 1, "gateway": 2]
        for m in 0..<80 {
            let incident = (60..<70).contains(m)
            for i in 0..<300 {
                let at = t0 + Int64(m) * minute + Int64(i) * 190
                let fails = incident ? i < 30 : i < 2
                for service in ["gateway", "orders", "payment"] {
                    // A callee logs its failure first and lasts less than its caller.
                    let duration = Int64(2_000 + 100 * depth[service]!) * 1_000_000
                    events.append(DetectorEvent(service: service, timestampMs: at + Int64(depth[service]!), level: fails ? .error : .info,
                                                httpStatus: fails ? 502 : 200, durationNs: duration,
                                                traceID: "req-\(m)-\(i)", message: "\(service) \(fails ? "failed" : "ok")"))
                }
                let searchFails = incident ? i < 40 : i < 2
                events.append(DetectorEvent(service: "search", timestampMs: at + 5, level: searchFails ? .error : .info,
                                            traceID: "search-\(m)-\(i)", message: "search"))
            }
        }
        return events.sorted { $0.timestampMs < $1.timestampMs }
    }

    @Test func aFailureAlongACallChainIsOneIncidentNamedAfterItsOrigin() throws {
        let engine = DetectorEngine()
        var alerts: [Alert] = []
        for event in Self.stream() { alerts += engine.ingest(event) }
        alerts += engine.advance(toMs: Self.t0 + 80 * Self.minute)
        let firing = alerts.filter { $0.state == "firing" && $0.rule == "error_surge" }
        #expect(Set(firing.map(\.service)) == ["gateway", "orders", "payment", "search"], "\(alerts.map { "\($0.service) \($0.rule) \($0.state)" })")
        let chain = firing.filter { $0.service != "search" }
        let incident = try #require(chain.first?.incident)
        #expect(chain.allSatisfy { $0.incident == incident })
        #expect(incident.origin == "payment" && incident.services == ["payment", "gateway", "orders"] && incident.affected == ["gateway", "orders"])
        #expect(incident.lead == chain.first { $0.service == "payment" }?.id)
        #expect(incident.sharedTraces >= 10)
        #expect(firing.first { $0.service == "search" }?.incident == nil, "other traces: not in the incident")
        let resolved = alerts.filter { $0.state == "resolved" && $0.service != "search" }
        // Both error_surge and http_5xx_ratio fire for the three (their 5xx share rose too): six
        // alerts, one incident; the resolutions stay in it (the notifier sends the lead's).
        #expect(chain.count == 3 && alerts.filter { $0.state == "firing" && $0.service != "search" }.allSatisfy { $0.incident == incident })
        #expect(resolved.count == 6 && resolved.allSatisfy { $0.incident?.id == incident.id })
        // The same stream gives the same incident id.
        let again = DetectorEngine()
        var second: [Alert] = []
        for event in Self.stream() { second += again.ingest(event) }
        #expect(second.compactMap(\.incident?.id).first == incident.id)
    }
}
