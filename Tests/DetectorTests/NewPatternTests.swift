@testable import Detector
import Foundation
import LogModel
import Patterns
import Testing

/// The `new_pattern` rule: ERROR templates not seen within the look-back raise one alert per
/// template (not per message), templates of the look-back never do, and a detector restored from
/// its snapshot (as a restart or another member restores it from Kafka) does not alert again.
@Suite struct NewPatternTests {
    static let t0: Int64 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000
    static let minute: Int64 = 60_000

    /// 40 minutes of `billing`: requests, and the usual errors — invoices not found, connection
    /// resets, users locked out (the user a variable word). A deploy at minute 20 brings a new
    /// failure: 25 `UpstreamTimeout`s a minute for five minutes. At minute 26 another user is
    /// locked out (the usual template); at 28 one request logs a new error ten times (one
    /// occurrence); at minute 30 a cache rebuild aborts once, at 31 five times. `gap` leaves the
    /// invoice errors out for those minutes.
    static func stream(minutes: Range<Int> = 0..<40, gap: Range<Int> = 0..<0) -> [DetectorEvent] {
        var events: [DetectorEvent] = []
        func add(_ m: Int, _ i: Int, _ level: DetectorEvent.Level, _ message: String, trace: String? = nil,
                 type: String? = nil, error: String? = nil) {
            events.append(DetectorEvent(service: "billing", timestampMs: t0 + Int64(m) * minute + Int64(i) * 500, level: level,
                                        traceID: trace, message: message, errorType: type, errorMessage: error))
        }
        let users = ["alice", "bob", "dave"]
        for m in minutes {
            for i in 0..<60 { add(m, i, .info, "GET /api/invoices/\(m * 100 + i) 200 in \(i + 3) ms") }
            if !gap.contains(m) {
                for i in 0..<3 { add(m, 60 + i, .error, "invoice INV-\(m * 7 + i) not found for customer \(9_000 + i)") }
            }
            add(m, 64, .error, "db call failed", type: "ConnectionResetError", error: "[Errno 104] Connection reset by peer")
            add(m, 65, .error, "user \(users[m % 3]) locked out after 5 failed logins")
            if (20..<25).contains(m) {
                for i in 0..<25 {
                    add(m, 66 + i, .error, "charge ch_\(m)x\(i) failed: provider did not answer in \(3_000 + i) ms", trace: "trace-\(m)-\(i)",
                        type: "UpstreamTimeout", error: "POST https://psp.example/v1/charges timed out")
                }
            }
            if m == 26 { add(m, 92, .error, "user carol locked out after 5 failed logins") }
            if m == 28 { for i in 0..<10 { add(m, 80 + i, .error, "retry budget exhausted", trace: "one-request") } }
            if m == 30 { add(m, 93, .error, "cache rebuild aborted: shard unavailable") }
            if m == 31 { for i in 0..<5 { add(m, 93 + i, .error, "cache rebuild aborted: shard unavailable") } }
        }
        return events
    }

    static func run(_ engine: DetectorEngine, _ events: [DetectorEvent], until minuteEnd: Int) -> [Alert] {
        var alerts: [Alert] = []
        for event in events { alerts += engine.ingest(event) }
        return (alerts + engine.advance(toMs: t0 + Int64(minuteEnd) * minute)).filter { $0.rule == "new_pattern" }
    }

    @Test func aNewErrorTemplateRaisesOneAlertAndTheUsualOnesNone() throws {
        var settings = DetectorSettings()
        settings.traceURL = "https://kibana.local/trace/{trace_id}"
        let alerts = Self.run(DetectorEngine(settings: settings, owners: ["billing": "@billing"]), Self.stream(), until: 45)
        #expect(alerts.map(\.pattern?.template) == [
            "charge <*> failed: provider did not answer in <*> ms | UpstreamTimeout: POST <*> timed out",
            "cache rebuild aborted: shard unavailable",
        ], "\(alerts.map { "\($0.window.start) \($0.pattern?.template ?? "")" })")
        let timeout = try #require(alerts.first)
        // One alert for the burst of 125: its first window, the window's count, three examples
        // with their traces and a link to the last.
        #expect(timeout.window.start == Timestamps.format(epochMillis: Self.t0 + 20 * Self.minute))
        #expect(timeout.observed == 25 && timeout.state == "firing" && timeout.service == "billing" && timeout.context.owner == "@billing")
        #expect(timeout.context.events.count == 3 && timeout.context.events.allSatisfy { $0.message.hasPrefix("charge ch_20x") && $0.traceID != nil })
        #expect(timeout.context.traceURL == "https://kibana.local/trace/trace-20-24")
        #expect(timeout.pattern?.id == TemplateMiner.id(of: timeout.pattern!.template.split(separator: " ").map(String.init)))
        // Once below its minimum count (one abort at minute 30), then five at 31: still new.
        #expect(alerts.last?.window.start == Timestamps.format(epochMillis: Self.t0 + 30 * Self.minute) && alerts.last?.observed == 5)
        // The same stream gives the same ids.
        #expect(Self.run(DetectorEngine(settings: settings), Self.stream(), until: 45).map(\.id) == alerts.map(\.id))
    }

    @Test func aRestoredDetectorDoesNotAlertAgain() throws {
        let events = Self.stream()
        let whole = Self.run(DetectorEngine(), events, until: 45)
        // A detector that judged up to minute 22 (the UpstreamTimeout alert sent), its snapshot
        // through JSON as in `logship.detector.state`, a new detector restored from it.
        let first = DetectorEngine()
        let before = Self.run(first, events.filter { $0.timestampMs < Self.t0 + 22 * Self.minute }, until: 21)
        #expect(before.map(\.pattern?.template).count == 1)
        let snapshot = try #require(first.snapshot(of: "billing"))
        let stored = try JSONDecoder().decode(DetectorEngine.ServiceSnapshot.self, from: JSONEncoder().encode(snapshot))
        let second = DetectorEngine()
        second.restore(["billing": stored])
        let after = Self.run(second, events.filter { $0.timestampMs >= Self.t0 + 22 * Self.minute }, until: 45)
        #expect(after.map(\.pattern?.template) == ["cache rebuild aborted: shard unavailable"])
        #expect((before + after).map(\.id) == whole.map(\.id))
    }

    @Test func aTemplateOutsideTheLookBackIsNewAgain() {
        // Invoices not found stop for 20 minutes (minutes 12 to 31) and come back at 32.
        var short = DetectorSettings()
        short.apply(["new_pattern": ["look_back": Double(10 * Self.minute)]])
        let events = Self.stream(minutes: 0..<36, gap: 12..<32).filter { $0.errorType != "UpstreamTimeout" }  // without the deploy
        let alerts = Self.run(DetectorEngine(settings: short), events, until: 40)
        #expect(alerts.map(\.pattern?.template) == ["cache rebuild aborted: shard unavailable", "invoice <*> not found for customer <*>"])
        #expect(alerts.last?.window.start == Timestamps.format(epochMillis: Self.t0 + 32 * Self.minute))
        // With the default look-back (7 days), the invoices are known.
        #expect(Self.run(DetectorEngine(), events, until: 40).map(\.pattern?.template) == ["cache rebuild aborted: shard unavailable"])
    }

    @Test func theRuleCanBeTurnedOffAndItsParametersSet() {
        var off = DetectorSettings()
        off.apply(["new_pattern": ["enabled": 0]])
        #expect(Self.run(DetectorEngine(settings: off), Self.stream(), until: 45).isEmpty)
        var strict = DetectorSettings()
        strict.apply(["new_pattern": ["min_count": 10]])  // the abort's five are not enough
        #expect(Self.run(DetectorEngine(settings: strict), Self.stream(), until: 45).map(\.observed) == [25])
    }

    @Test func twoCountersGiveTheSameNewPatternAlertsAsOne() {
        var sources: [String: [DetectorEvent]] = [:]
        for (index, event) in Self.stream().enumerated() { sources["logs.billing/\(index % 3)", default: []].append(event) }
        let all = sources.keys.sorted()
        let one = TwoStageTests.judge([all], steps: [90], sources: sources).filter { $0.rule == "new_pattern" }
        let two = TwoStageTests.judge([[all[0]], [all[1], all[2]]], steps: [40, 130], sources: sources).filter { $0.rule == "new_pattern" }
        let single = Self.run(DetectorEngine(), Self.stream(), until: 45)
        #expect(one.count == 2 && one.map(\.id) == two.map(\.id) && one.map(\.id) == single.map(\.id),
                "\(one.map { $0.pattern?.template ?? "" }) \(two.map { $0.pattern?.template ?? "" })")
    }
}
