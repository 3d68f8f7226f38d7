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
}
