@testable import Agent
import Foundation
import LogModel
import LogshipConfig
import Testing
import TestSupport

/// Zone-less timestamps are read in the input's zone (default: the host's), DST edges resolved
/// as documented (the earlier instant of a repeated hour; a skipped hour read with the offset
/// in force before the change), and offsets written in the text win.
@Suite struct TimeZoneTests {
    func utc(_ text: String, _ zone: String) throws -> String? {
        Timestamps.normalise(text, zone: try #require(ZoneRule(named: zone)))
    }

    @Test func zoneLessTimesAreReadInTheInputsZone() throws {
        #expect(try utc("2026-12-01 10:00:00,001", "Asia/Shanghai") == "2026-12-01T02:00:00.001Z")
        #expect(try utc("2026-12-01 10:00:00,001", "UTC") == "2026-12-01T10:00:00.001Z")
        #expect(try utc("2026-12-01 10:00:00,001", "+05:30") == "2026-12-01T04:30:00.001Z")
        #expect(try utc("2026-07-01 12:00:00", "America/New_York") == "2026-07-01T16:00:00.000Z")  // EDT
        #expect(try utc("2026-01-15 12:00:00", "America/New_York") == "2026-01-15T17:00:00.000Z")  // EST
        #expect(try utc("2026-01-15 12:00:00", "Australia/Lord_Howe") == "2026-01-15T01:00:00.000Z")  // +11 in summer
        #expect(ZoneRule(named: "Mars/Olympus_Mons") == nil)
        #expect(ZoneRule(named: "+25:00") == nil)
    }

    @Test func offsetsWrittenInTheTextAreKept() throws {
        #expect(try utc("2026-12-01T10:00:00.5+05:30", "Asia/Shanghai") == "2026-12-01T04:30:00.500Z")
        #expect(try utc("2026-12-01T10:00:00Z", "America/New_York") == "2026-12-01T10:00:00.000Z")
        #expect(try utc("2026-12-01 10:00:00,000 -0800", "Asia/Shanghai") == "2026-12-01T18:00:00.000Z")
    }

    @Test func daylightSavingEdgesAreDeterministic() throws {
        // Spring forward in New York, 2026-03-08 02:00 EST -> 03:00 EDT: 02:30 never happens and
        // is read with the offset before the change (EST), i.e. 07:30Z = 03:30 EDT.
        #expect(try utc("2026-03-08 01:59:59", "America/New_York") == "2026-03-08T06:59:59.000Z")
        #expect(try utc("2026-03-08 02:30:00", "America/New_York") == "2026-03-08T07:30:00.000Z")
        #expect(try utc("2026-03-08 03:00:00", "America/New_York") == "2026-03-08T07:00:00.000Z")
        // Fall back, 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice; the first (EDT) is taken.
        #expect(try utc("2026-11-01 01:30:00", "America/New_York") == "2026-11-01T05:30:00.000Z")
        #expect(try utc("2026-11-01 02:00:00", "America/New_York") == "2026-11-01T07:00:00.000Z")
        #expect(try utc("2026-11-01 00:59:59", "America/New_York") == "2026-11-01T04:59:59.000Z")
    }

    /// Python `logging` itself writes the lines, on a "host" in each zone (TZ), across both 2026
    /// DST changes; `logship parse` with no configuration (timezone `local`) reads them back.
    @Test(arguments: ["Asia/Shanghai", "America/New_York", "UTC"])
    func pythonLoggingOnAHostInAZone(zone: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tz-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("billing.log").path
        let written = try Subprocess.run("python3", [PythonScript.path("write_zone_logs.py"), file], environment: ["TZ": zone])
        #expect(written.status == 0, "\(written.stderr)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(written.stdout.utf8)) as? [[String: Any]])
        let parsed = try LogshipBinary.run(["parse", file], environment: ["TZ": zone])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let events = parsed.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(events.count == manifest.count)
        var folded = 0
        for (event, expected) in zip(events, manifest) {
            #expect(event["message"] as? String == expected["message"] as? String)
            // A wall time of the repeated hour stands for its first instant (documented): one hour earlier than a fold=1 record.
            let fold = expected["fold"] as? Int ?? 0
            folded += fold
            let epoch = (expected["epoch_ms"] as! NSNumber).int64Value - (fold == 1 ? 3_600_000 : 0)
            #expect(event["@timestamp"] as? String == Timestamps.format(epochMillis: epoch), "\(expected)")
        }
        #expect(folded == (zone == "America/New_York" ? 3 : 0), "the repeated hour was written")
    }

    @Test func futureTimestampsKeepTheReadTime() throws {
        var input = LogshipConfiguration.Input(service: "clock", paths: ["/tmp/x.log"])
        input.timezone = "UTC"
        input.futureLimitMs = 3_600_000
        let pipeline = try InputPipeline(input: input, host: "h", allowDebug: true, maskPatterns: [], pythonFormat: nil)
        let now = Timestamps.epochMillis(of: "2026-12-01T10:00:00.000Z")!
        let stats = AgentStats()
        let output = OutputBuffer()
        func ship(_ line: String) throws -> [String: Any] {
            let record = Record(bytes: Array(line.utf8), offset: 0, endOffset: Int64(line.utf8.count + 1), tags: [])
            guard case .ship = pipeline.process(record, fileIdentity: "f", filePath: "/tmp/x.log", nowMillis: now, stats: stats, into: output) else {
                Issue.record("dropped"); return [:]
            }
            return try #require(try JSONSerialization.jsonObject(with: Data(output.bytes)) as? [String: Any])
        }
        let ahead = try ship("2026-12-01 12:00:00,000 ERROR [x] clock two hours fast")
        #expect(ahead["@timestamp"] as? String == "2026-12-01T10:00:00.000Z")
        #expect((ahead["event"] as? [String: Any])?["created"] as? String == "2026-12-01T12:00:00.000Z")
        #expect((ahead["tags"] as? [String]) == ["future_timestamp"])
        let near = try ship("2026-12-01 10:59:00,000 ERROR [x] a minute inside the limit")
        #expect(near["@timestamp"] as? String == "2026-12-01T10:59:00.000Z")
        #expect(near["tags"] == nil)
        #expect(stats.snapshot.futureTimestamps == 1)
    }
}
