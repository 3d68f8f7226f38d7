import Foundation
import Testing
import TestSupport

/// `logship detect backtest` on a recorded stream with one labelled incident.
@Suite struct DetectBacktestTests {
    @Test func backtestFindsTheLabelledIncidentAndScoresIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("backtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let t0 = Date(timeIntervalSince1970: 1_795_000_020)
        var lines: [String] = []
        for minute in 0..<80 {
            let errors = (60..<66).contains(minute) ? 40 : 1
            for i in 0..<100 {
                let at = formatter.string(from: t0.addingTimeInterval(Double(minute * 60) + Double(i) * 0.5))
                let level = i < errors ? "ERROR" : "INFO"
                lines.append(#"{"@timestamp":"\#(at)","message":"m\#(minute).\#(i)","service":{"name":"pay"},"log":{"level":"\#(level)"}}"#)
            }
        }
        lines.append("not json")
        let input = dir.appendingPathComponent("events.jsonl")
        try lines.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let labels = dir.appendingPathComponent("labels.csv")
        let start = formatter.string(from: t0.addingTimeInterval(60 * 60)), end = formatter.string(from: t0.addingTimeInterval(66 * 60))
        try "service,start,end\npay,\(start),\(end)\n".write(to: labels, atomically: true, encoding: .utf8)

        let result = try LogshipBinary.run(["detect", "backtest", "--input", input.path, "--labels", labels.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["events"] as? Int == 8_000 && json["skipped"] as? Int == 1)
        let alerts = json["alerts"] as? [[String: Any]] ?? []
        #expect(alerts.first?["rule"] as? String == "error_surge" && alerts.first?["state"] as? String == "firing")
        let score = try #require(json["score"] as? [String: Any])
        #expect(score["precision"] as? Double == 1 && score["recall"] as? Double == 1)

        let text = try LogshipBinary.run(["detect", "backtest", "--input", input.path, "--labels", labels.path])
        #expect(text.stdout.contains("precision 1.00  recall 1.00  F1 1.00"), "\(text.stdout)")
        #expect(try LogshipBinary.run(["detect", "backtest"]).status == 2)
    }

    /// `--series`: values as weights (up to 2^53, in memory by rows), windows of the series'
    /// interval, a score per row, and every malformed input exits 2 naming its line.
    @Test func seriesCarryCountsAsWeightsAndBadLinesExit2() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("series-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func run(_ name: String, _ text: String) throws -> ProcessResult {
            let file = dir.appendingPathComponent(name)
            try text.write(to: file, atomically: true, encoding: .utf8)
            return try LogshipBinary.run(["detect", "backtest", "--series", file.path, "--json"], timeout: 60)
        }
        // Three hours of 5-minute rows around a thousand, then one at 2^53: the run ends, in
        // 5-minute windows, one score per row (at the row's window's last millisecond), and the
        // surge is the one alert, critical, with the highest score.
        var rows = ["timestamp,value"]
        var times: [String] = []
        for i in 0..<36 {
            let value = i == 30 ? "9007199254740992" : "\(1_000 + i % 3)"
            let time = "2026-01-01 \(String(format: "%02d:%02d", i * 5 / 60, i * 5 % 60)):00"
            rows.append("\(time),\(value)")
            times.append(time)
        }
        let big = try run("big.csv", rows.joined(separator: "\n"))
        #expect(big.status == 0, "\(big.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(big.stdout.utf8)) as? [String: Any])
        #expect(json["events"] as? Int == 36, "one weighted event per row")
        let scores = json["scores"] as? [[String: Any]] ?? []
        #expect(scores.count == 36)
        for (row, score) in zip(times, scores) {
            let minute = Int(row.suffix(5).prefix(2))!
            #expect((score["timestamp"] as? String)?.hasSuffix(String(format: "%02d:59.999Z", minute + 4)) == true, "\(score)")
            #expect((0...1).contains(score["score"] as? Double ?? -1), "\(score)")
        }
        let values = scores.map { $0["score"] as? Double ?? 0 }
        #expect(values.firstIndex(of: values.max()!) == 30 && values[30] >= 0.95)
        let alerts = (json["alerts"] as? [[String: Any]] ?? []).filter { $0["state"] as? String == "firing" }
        #expect(alerts.count == 1 && alerts.first?["rule"] as? String == "volume_surge" && alerts.first?["severity"] as? String == "critical",
                "\(alerts)")
        for alert in alerts {
            let window = alert["window"] as? [String: String] ?? [:]
            #expect(window["start"] == "2026-01-01T02:30:00.000Z" && window["end"] == "2026-01-01T02:35:00.000Z", "\(window)")
        }
        // Malformed inputs: exit 2, the line named, nothing else printed on stdout.
        let cases: [(name: String, text: String, message: String)] = [
            ("empty.csv", "", "no rows"),
            ("header.csv", "timestamp,value\n", "no rows"),
            ("unsorted.csv", "timestamp,value\n2026-01-01 00:10:00,1\n2026-01-01 00:05:00,2\n", "line 3"),
            ("nan.csv", "timestamp,value\n2026-01-01 00:05:00,1\n2026-01-01 00:10:00,lots\n", "line 3"),
            ("huge.csv", "timestamp,value\n2026-01-01 00:05:00,1e300\n", "line 2"),
            ("huge-negative.csv", "timestamp,value\n2026-01-01 00:05:00,-1e300\n", "line 2"),
            ("badtime.csv", "timestamp,value\n2026-01-01 00:05:00,1\nyesterday,3\n", "line 3"),
        ]
        for (name, text, message) in cases {
            let result = try run(name, text)
            #expect(result.status == 2, "\(name): exit \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(name): \(result.stderr)")
        }
        // A repeated time adds to the row before (NAB's exchange-2_cpc_results.csv repeats an
        // hour), said on stderr with the line.
        let repeated = try run("duplicate.csv", "timestamp,value\n2026-01-01 00:05:00,1\n2026-01-01 00:05:00,2\n2026-01-01 00:10:00,3\n")
        #expect(repeated.status == 0 && repeated.stderr.contains("series line 3: the same time as line 2"), "\(repeated.stderr)")
        // A negative value (public series are not all counts: a measure) is no error.
        #expect(try run("negative.csv", "timestamp,value\n2026-01-01 00:05:00,-4\n2026-01-01 00:10:00,3\n").status == 0)
        let missing = try LogshipBinary.run(["detect", "backtest", "--series", dir.appendingPathComponent("none.csv").path])
        #expect(missing.status == 2 && missing.stderr.contains("cannot read"))
    }
}
