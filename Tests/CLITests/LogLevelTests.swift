import Foundation
import Testing
import TestSupport

/// `--log-level` takes the usual names and refuses others; librdkafka's own lines reach the
/// terminal through swift-log, never raw.
@Suite struct LogLevelTests {
    @Test func unknownLevelsAreUsageErrorsAndTheUsualNamesAreTaken() throws {
        let loud = try LogshipBinary.run(["agent", "--log-level", "loud"])
        #expect(loud.status == 2 && loud.stderr.contains("The value 'loud' is invalid for '--log-level"))
        for name in ["trace", "debug", "info", "notice", "warn", "WARNING", "error", "critical"] {
            // Accepted: the command goes on to its configuration (which is missing here).
            let run = try LogshipBinary.run(["indexer", "--log-level", name, "--config", "/nonexistent/logship.yml"])
            #expect(run.status == 2 && !run.stderr.contains("--log-level"), "\(name): \(run.stderr)")
        }
    }

    @Test func librdkafkaLinesGoThroughSwiftLog() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rdlog-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A broker port nobody listens on: librdkafka logs connection failures at once.
        let deadPort = try FreePort.next()
        try Data("2026-12-06 04:00:00,000 INFO [x] one\n".utf8).write(to: dir.appendingPathComponent("a.log"))
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["127.0.0.1:\(deadPort)"]}
        agent:
          data_dir: \(dir.path)/data
          shutdown_timeout: 1s
          inputs: [{service: rd, paths: ["\(dir.path)/a.log"]}]
        """.write(to: config, atomically: true, encoding: .utf8)
        let agent = RoleProcess(["agent", "--config", config.path, "--log-level", "debug"], log: dir.appendingPathComponent("agent.log"))
        try agent.start()
        try waitUntil(timeout: 30, "librdkafka to report the dead broker") { agent.log.contains("Connection refused") }
        #expect(agent.terminate() == 0)
        let lines = agent.log.split(separator: "\n")
        #expect(!lines.contains { $0.range(of: #"^%\d\|"#, options: .regularExpression) != nil }, "no raw librdkafka line")
        let routed = lines.filter { $0.contains("librdkafka") && $0.contains("Connection refused") }
        #expect(!routed.isEmpty)
        #expect(routed.allSatisfy { $0.contains("kafka.client=") && $0.contains("kafka.facility=") }, "\(routed.prefix(2))")
    }
}

/// Help reads well at 80 columns: ArgumentParser wraps the paragraphs (`helpText`), so no prose
/// line runs past the width (the USAGE synopsis and indented examples aside).
@Suite struct HelpWidthTests {
    @Test(arguments: ["", "agent", "parse", "indexer", "lag", "replay", "reindex", "archive export", "detector", "notifier",
                      "detect backtest", "errors", "slow", "trace", "search", "coordinator", "status", "demo", "doctor",
                      "config validate", "config show", "topics create", "retention"])
    func proseFitsEightyColumns(command: String) throws {
        let arguments = command.split(separator: " ").map(String.init) + ["--help"]
        let help = try LogshipBinary.run(arguments, environment: ["COLUMNS": "80"])
        #expect(help.status == 0)
        let long = help.stdout.split(separator: "\n").filter { line in
            line.count > 80 && !line.hasPrefix("USAGE:") && !line.hasPrefix("    ") && !line.hasPrefix("  logship")
        }
        #expect(long.isEmpty, "\(command): \(long)")
        // No paragraph broken in the middle of a sentence: a line ending without punctuation is
        // followed by a line that does not start with a lower-case word.
        let lines = help.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let ragged = zip(lines, lines.dropFirst()).filter { first, next in
            first.count < 50 && !first.isEmpty && !first.hasPrefix(" ") && !first.hasSuffix(".") && !first.hasSuffix(":")
                && (next.first?.isLowercase ?? false)
        }
        #expect(ragged.isEmpty, "\(command): \(ragged.map { "\($0.0) / \($0.1)" })")
    }
}
