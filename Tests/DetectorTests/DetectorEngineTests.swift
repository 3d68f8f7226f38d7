@testable import Detector
import LogModel
import Testing

/// Synthetic streams with known incidents, fed in event-time order through the engine.
@Suite struct DetectorEngineTests {
    static let t0: Int64 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000
    static let minute: Int64 = 60_000

    /// `perMinute(m)` gives the events of minute m: (count, errors, 5xx, slow).
    struct Traffic {
        var service: String
        var minutes: Range<Int>
        var perMinute: (Int) -> (total: Int, errors: Int, serverErrors: Int, slow: Int)
    }

    func events(_ traffic: [Traffic]) -> [DetectorEvent] {
        var out: [DetectorEvent] = []
        for t in traffic {
            for m in t.minutes {
                let (total, errors, serverErrors, slow) = t.perMinute(m)
                for i in 0..<total {
                    let at = Self.t0 + Int64(m) * Self.minute + Int64(i) * (Self.minute - 1) / Int64(max(total, 1))
                    out.append(DetectorEvent(service: t.service, timestampMs: at, level: i < errors ? .error : .info,
                                             httpStatus: i < serverErrors ? 503 : 200,
                                             durationNs: i < slow ? 3_000_000_000 : 20_000_000,
                                             traceID: i < errors ? "trace-\(t.service)-\(m)-\(i)" : nil, message: "event \(m).\(i)"))
                }
            }
        }
        return out.sorted { $0.timestampMs < $1.timestampMs }
    }

    func run(_ events: [DetectorEvent], until minute: Int, settings: DetectorSettings = DetectorSettings(),
             owners: [String: String] = [:]) -> (DetectorEngine, [Alert]) {
        let engine = DetectorEngine(settings: settings, owners: owners)
        var alerts: [Alert] = []
        for event in events { alerts += engine.ingest(event) }
        alerts += engine.advance(toMs: Self.t0 + Int64(minute) * Self.minute)
        return (engine, alerts)
    }

    func summary(_ alerts: [Alert]) -> [String] { alerts.map { "\($0.service) \($0.rule) \($0.state) \($0.severity)" } }

    /// As the incident fills the 5-minute span the surge crosses the threshold (warning), then
    /// twice it (critical: an escalation is sent); it resolves once the span is clear again.
    @Test func errorSurgeAlertsEscalatesOnceThenResolves() {
        let stream = events([Traffic(service: "pay", minutes: 0..<90) { m in (300, (60..<70).contains(m) ? 30 : 2, 0, 0) }])
        let (_, alerts) = run(stream, until: 90, owners: ["pay": "@pay-oncall"])
        #expect(summary(alerts) == ["pay error_surge firing warning", "pay error_surge firing critical", "pay error_surge resolved info"])
        let firing = alerts[0]
        #expect(firing.baseline == 10 && firing.observed >= 40 && firing.observed < 80)
        #expect(firing.context.owner == "@pay-oncall")
        #expect(firing.context.events.count == 3)
        #expect(firing.window.start.hasSuffix(":00.000Z"))
    }

    /// The same surge in two services: one keeps the defaults; the other has error_surge turned
    /// off and a lower error_rate threshold of its own.
    @Test func perServiceRuleParametersApplyToTheirServiceOnly() {
        let stream = events(["pay", "ship"].map { service in
            Traffic(service: service, minutes: 0..<90) { m in (300, (60..<70).contains(m) ? 30 : 2, 0, 0) }
        })
        var ship = DetectorSettings()
        ship.disabledRules = ["error_surge"]
        ship.errorRate.threshold = 0.05
        let engine = DetectorEngine(settings: DetectorSettings(), serviceSettings: ["ship": ship])
        var alerts: [Alert] = []
        for event in stream { alerts += engine.ingest(event) }
        alerts += engine.advance(toMs: Self.t0 + 90 * Self.minute)
        #expect(summary(alerts.filter { $0.service == "pay" }) == ["pay error_surge firing warning", "pay error_surge firing critical", "pay error_surge resolved info"])
        #expect(summary(alerts.filter { $0.service == "ship" }) == ["ship error_rate firing warning", "ship error_rate firing critical", "ship error_rate resolved info"])
        #expect(alerts.first { $0.service == "ship" }?.baseline == 0.05)
    }

    @Test func aDoubledFiveXXRatioAlerts() {
        let stream = events([Traffic(service: "api", minutes: 0..<60) { m in (200, 0, m >= 40 ? 20 : 4, 0) }])
        let (_, alerts) = run(stream, until: 62)
        // Warning when the 10-minute ratio has doubled, critical at four times, resolved once the
        // previous 10 minutes are as bad (the rule compares the two spans).
        #expect(summary(alerts) == ["api http_5xx_ratio firing warning", "api http_5xx_ratio firing critical",
                                    "api http_5xx_ratio resolved info"])
        #expect(alerts[0].observed >= 2 * alerts[0].baseline && alerts[0].baseline == 0.02)
    }

    @Test func aNoisyButNormalServiceStaysQuiet() {
        var generator = SplitMix(seed: 42)
        let noise = (0..<180).map { _ in Int(generator.next() % 13) }
        let stream = events([Traffic(service: "noisy", minutes: 0..<180) { m in (300, noise[m], noise[m] / 3, noise[m] / 2) }])
        let (_, alerts) = run(stream, until: 182)
        #expect(alerts.isEmpty, "\(summary(alerts))")
    }

    @Test func aSilentServiceIsNoticedOnceWhileOthersKeepTime() {
        let stream = events([
            Traffic(service: "quiet", minutes: 0..<40) { _ in (50, 0, 0, 0) },
            Traffic(service: "other", minutes: 0..<70) { _ in (50, 0, 0, 0) },
        ])
        let (_, alerts) = run(stream, until: 70)
        #expect(summary(alerts) == ["quiet silence firing critical"])
    }

    @Test func lateEventsAreCountedNotCounted() {
        var stream = events([Traffic(service: "pay", minutes: 0..<10) { _ in (10, 0, 0, 0) }])
        stream.append(DetectorEvent(service: "pay", timestampMs: Self.t0 + 60_000, level: .error))  // 9 minutes late
        let engine = DetectorEngine()
        for event in stream { _ = engine.ingest(event) }
        #expect(engine.lateEvents["pay"] == 1)
    }

    @Test func suppressionEscalationAndReminder() {
        // A surge that doubles (warning → critical) and lasts until the baseline has adapted.
        let stream = events([Traffic(service: "pay", minutes: 0..<200) { m in
            (500, m < 60 ? 4 : m < 65 ? 30 : 200, 0, 0)
        }])
        var settings = DetectorSettings()
        settings.errorRate.threshold = 0.9  // keep the share rule out of this test
        settings.suppressMs = 15 * 60_000
        let (engine, alerts) = run(stream, until: 200, settings: settings)
        #expect(alerts.allSatisfy { $0.rule == "error_surge" })
        #expect(summary(alerts) == ["pay error_surge firing warning", "pay error_surge firing critical",
                                    "pay error_surge firing critical", "pay error_surge firing critical", "pay error_surge resolved info"])
        // Reminders exactly one suppress window apart; everything between them was held back.
        let ends = alerts.dropLast().compactMap { Timestamps.epochMillis(of: $0.window.end) }
        #expect(ends[2] - ends[1] == settings.suppressMs && ends[3] - ends[2] == settings.suppressMs)
        #expect(engine.suppressed > 20)
    }

    @Test func errorsOfOneTraceCountOnce() {
        var stream = events([Traffic(service: "pay", minutes: 0..<40) { _ in (300, 1, 0, 0) }])
        // 200 errors in one minute, all of one request.
        for i in 0..<200 {
            stream.append(DetectorEvent(service: "pay", timestampMs: Self.t0 + 30 * Self.minute + Int64(i), level: .error, traceID: "one-trace"))
        }
        stream.sort { $0.timestampMs < $1.timestampMs }
        let (_, alerts) = run(stream, until: 40)
        #expect(alerts.isEmpty, "\(summary(alerts))")
    }

    @Test func traceLinkFromTheTemplate() {
        var settings = DetectorSettings()
        settings.traceURL = "http://kibana.local/app/discover#/?_a=(query:(query:'trace.id:{trace_id}'))"
        let stream = events([Traffic(service: "pay", minutes: 0..<70) { m in (300, m >= 60 ? 40 : 1, 0, 0) }])
        let (_, alerts) = run(stream, until: 70, settings: settings)
        let url = alerts.first?.context.traceURL ?? ""
        #expect(url.contains("trace.id:trace-pay-"))
    }

    @Test func alertIDsAreStable() {
        let stream = events([Traffic(service: "pay", minutes: 0..<70) { m in (300, m >= 60 ? 40 : 1, 0, 0) }])
        #expect(run(stream, until: 70).1.map(\.id) == run(stream, until: 70).1.map(\.id))
    }
}

@Suite struct WindowTests {
    @Test func windowsCloseAtTheWatermarkIncludingEmptyOnes() {
        var windows = ServiceWindows(windowMs: 60_000, latenessMs: 30_000, slowNs: 1_000_000_000)
        windows.add(DetectorEvent(service: "s", timestampMs: 10_000, level: .info))
        windows.add(DetectorEvent(service: "s", timestampMs: 190_000, level: .error))
        let closed = windows.close(upTo: 190_000 - 30_000)
        #expect(closed.map(\.startMs) == [0, 60_000])
        #expect(closed.map(\.total) == [1, 0])
        let accepted = windows.add(DetectorEvent(service: "s", timestampMs: 100_000, level: .info))
        #expect(!accepted)
        #expect(windows.late == 1)
    }
}
