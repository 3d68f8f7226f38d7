import Foundation
import Testing
import TestSupport

/// `logship patterns --file FILE`: a Python service's log with two message shapes (one with
/// a multiline traceback) and a shape that appears later; templates, counts, ids, --assign.
@Suite struct PatternsCommandTests {
    @Test func minesAFilesRecordsIntoTemplatesAndAssignsEachRecord() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("patterns-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var lines: [String] = []
        for n in 0..<300 {
            let stamp = String(format: "2026-12-06 10:%02d:%02d,%03d", n / 60, n % 60, n % 1000)
            if n % 3 == 0 {
                lines.append("\(stamp) ERROR [payment.api] UpstreamTimeout: gateway 10.0.0.\(n % 250) did not answer within \(n * 7)ms")
                lines.append("Traceback (most recent call last):")
                lines.append("  File \"/srv/app/pay.py\", line \(n), in charge")
                lines.append("TimeoutError: timed out")
            } else {
                lines.append("\(stamp) INFO [payment.api] charge \(n) accepted for user u\(n * 13) in \(n % 90) ms trace_id=\(String(format: "%032x", n + 1))")
            }
        }
        lines.append("2026-12-06 10:05:00,000 WARNING [payment.api] pool exhausted, waiting")
        let file = dir.appendingPathComponent("pay.log")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)

        let result = try LogshipBinary.run(["patterns", "--file", file.path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(summary["records"] as? Int == 301, "the traceback lines are part of their records")
        let patterns = try #require(summary["patterns"] as? [[String: Any]])
        #expect(patterns.map { $0["count"] as? Int } == [200, 100, 1])
        #expect(patterns.first?["template"] as? String == "charge <*> accepted for user <*> in <*> ms trace_id=<*>")
        #expect((patterns[1]["template"] as? String)?.hasPrefix("UpstreamTimeout: gateway <*> did not answer within <*>") == true)
        #expect(patterns.first?["trace_id"] as? String == String(format: "%032x", 2))
        #expect(patterns.first?["first_seen"] != nil && patterns.first?["last_seen"] != nil)
        let ids = patterns.compactMap { $0["id"] as? String }
        #expect(ids.allSatisfy { $0.count == 16 } && Set(ids).count == 3)

        // --assign: one line per record, each with its template's final id.
        let assigned = try LogshipBinary.run(["patterns", "--file", file.path, "--assign"])
        #expect(assigned.status == 0)
        let rows = assigned.stdout.split(separator: "\n")
        #expect(rows.count == 301)
        #expect(Set(rows.map { String($0.split(separator: "\t").first ?? "") }) == Set(ids))
        #expect(rows.last?.hasSuffix("pool exhausted, waiting") == true)

        // The same file mined again (another host, a restart): the same ids.
        let again = try LogshipBinary.run(["patterns", "--file", file.path, "--json"])
        let againIDs = ((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])?["patterns"] as? [[String: Any]])?
            .compactMap { $0["id"] as? String }
        #expect(againIDs == ids)

        let missing = try LogshipBinary.run(["patterns", "--file", dir.appendingPathComponent("none.log").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("none.log"))
    }
}
