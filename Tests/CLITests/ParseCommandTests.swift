import Foundation
import Testing
import TestSupport

/// `logship parse FILE` as a newcomer runs it: no configuration, format auto, the host's zone.
@Suite struct ParseCommandTests {
    func file(_ name: String, _ text: String) throws -> (URL, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parse-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return (dir, url)
    }

    @Test func worksWithoutAConfigAndExplainsMasks() throws {
        let (dir, url) = try file("syslog", """
        Dec  6 12:00:31 web01 sshd[1234]: Accepted publickey for root from 127.0.0.1 port 50022
        Dec  6 12:00:32 web01 app[77]: connecting to postgres://admin:S3cr3tPw@db:5432/app with Authorization: Bearer 7f3c9a1e5b2d
        """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let parsed = try LogshipBinary.run(["parse", url.path, "--timezone", "Asia/Shanghai"], environment: ["TZ": "UTC"])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let events = parsed.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(events.count == 2)
        // A year-less December date is this year's, or last year's until November (more than a month ahead).
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let year = utc.component(.year, from: Date()) - (12 > utc.component(.month, from: Date()) + 1 ? 1 : 0)
        #expect(events.first?["@timestamp"] as? String == "\(year)-12-06T04:00:31.000Z")
        #expect((events.first?["service"] as? [String: Any])?["name"] as? String == "syslog", "the file's name is the service")
        #expect((events.first?["process"] as? [String: Any])?["name"] as? String == "sshd")
        #expect(!parsed.stdout.contains("S3cr3tPw") && !parsed.stdout.contains("7f3c9a1e5b2d"))

        let explained = try LogshipBinary.run(["parse", url.path, "--explain"])
        #expect(explained.status == 0)
        #expect(!explained.stdout.contains("S3cr3tPw") && !explained.stdout.contains("7f3c9a1e5b2d"), "the secret itself is never shown")
        #expect(explained.stdout.contains("url_password masked 8 bytes: "))
        #expect(explained.stdout.contains("postgres://admin:[MASKED]@db"))
        #expect(explained.stdout.contains("masked 2 in 2 lines: authorization 1, url_password 1"))
        let asJSON = try LogshipBinary.run(["parse", url.path, "--explain", "--json"])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(asJSON.stdout.utf8)) as? [String: Any])
        #expect((summary["matches"] as? [[String: Any]])?.compactMap { $0["rule"] as? String } == ["url_password", "authorization"])

        let unknown = try LogshipBinary.run(["parse", url.path, "--format", "xml"])
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown format \"xml\""))
        let badZone = try LogshipBinary.run(["parse", url.path, "--timezone", "Moon/Base"])
        #expect(badZone.status == 2 && badZone.stderr.contains("unknown time zone \"Moon/Base\""))
        let counted = try LogshipBinary.run(["parse", url.path, "--format", "json", "--count"])
        #expect(counted.stdout.contains("unparsed 2"), "\(counted.stdout)")
    }
}
