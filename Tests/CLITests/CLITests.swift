import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct CLITests {
    @Test func versionPrintsAndExitsZero() throws {
        let result = try LogshipBinary.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test func unknownSubcommandIsAUsageError() throws {
        let result = try LogshipBinary.run(["frobnicate"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("frobnicate"))
    }

    @Test func configValidateListsAllThreeMistakesWithKeyPaths() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).yml")
        try """
        kafka:
          brokers: ["127.0.0.1"]
        elasticsearch:
          url: "127.0.0.1:9200"
        agent:
          inputs:
            - service: payment
              paths: ["/var/log/payment/*.log"]
              format: xml
        """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try LogshipBinary.run(["config", "validate", "--config", file.path])
        #expect(result.status == 2)
        for path in ["kafka.brokers[0]", "elasticsearch.url", "agent.inputs[0].format"] {
            #expect(result.stderr.contains(path), "missing \(path) in: \(result.stderr)")
        }
        #expect(result.stderr.contains("3 problems"))

        let json = try LogshipBinary.run(["config", "validate", "--config", file.path, "--json"])
        #expect(json.status == 2)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((report?["problems"] as? [[String: String]])?.compactMap { $0["path"] }.sorted()
                == ["agent.inputs[0].format", "elasticsearch.url", "kafka.brokers[0]"])
    }

    @Test func configValidateAcceptsTheShippedExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let result = try LogshipBinary.run(["config", "validate", "--config", root.appendingPathComponent("cluster/logship.yml").path])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func doctorAgainstADeadAddressExitsOneWithinTenSecondsNamingTheEndpoint() throws {
        let kafkaPort = try FreePort.next(), esPort = try FreePort.next()
        let started = Date()
        let result = try LogshipBinary.run(["doctor", "--brokers", "127.0.0.1:\(kafkaPort)", "--es-url", "http://127.0.0.1:\(esPort)"],
                                           timeout: 30)
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 1)
        #expect(elapsed < 10, "doctor took \(elapsed) s")
        #expect(result.stdout.contains("127.0.0.1:\(kafkaPort)") && result.stdout.contains("unreachable"))
        #expect(result.stdout.contains("http://127.0.0.1:\(esPort)"))
    }

    /// `logship-agent` is the agent role of `logship agent` alone: same version, same options, the
    /// same usage errors (exit 2, every config problem named), and none of the other roles' libraries
    /// (libcurl and its TLS stack) among the ones it loads.
    @Test func logshipAgentIsTheAgentAloneWithoutLibcurl() throws {
        let agent = try LogshipBinary.agentPath()
        let version = try Subprocess.run(agent, ["--version"])
        let fullVersion = try LogshipBinary.run(["--version"])
        #expect(version.status == 0 && version.stdout == fullVersion.stdout)
        let help = try Subprocess.run(agent, ["--help"])
        let fullHelp = try LogshipBinary.run(["agent", "--help"])
        for option in ["--config", "--brokers", "--log-level", "--metrics-listen"] {
            #expect(help.stdout.contains(option) && fullHelp.stdout.contains(option), "\(option)")
        }
        #expect(help.stdout.contains("USAGE: logship-agent"))
        let unknown = try Subprocess.run(agent, ["index"])
        #expect(unknown.status == 2 && unknown.stderr.contains("index"))

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("agent-bad-\(UUID().uuidString).yml")
        try """
        kafka: {brokers: ["127.0.0.1"]}
        agent:
          inputs: [{service: payment, paths: ["/var/log/payment/*.log"], format: xml}]
        """.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let bad = try Subprocess.run(agent, ["--config", file.path])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("logship-agent: ") && bad.stderr.contains("2 problems"), "\(bad.stderr)")
        for path in ["kafka.brokers[0]", "agent.inputs[0].format"] { #expect(bad.stderr.contains(path), "\(path): \(bad.stderr)") }

        func needed(_ binary: String) throws -> [String] {
            try Subprocess.run("readelf", ["-d", binary]).stdout.split(separator: "\n")
                .filter { $0.contains("(NEEDED)") }.compactMap { $0.split(separator: "[").last?.split(separator: "]").first.map(String.init) }
        }
        let agentLibraries = try needed(agent), fullLibraries = try needed(try LogshipBinary.path())
        #expect(agentLibraries.contains { $0.hasPrefix("librdkafka") } && fullLibraries.contains { $0.hasPrefix("libcurl") })
        #expect(!agentLibraries.contains { $0.hasPrefix("libcurl") }, "\(agentLibraries)")
    }

    /// `parse --keys` prints the Kafka key the agent would use before each event: `trace.id`
    /// when present, else host and file identity; the event after the tab is unchanged.
    @Test func parseKeysPrefixesEachEventWithTheAgentsKafkaKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parse-keys-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("app.log").path
        try """
        2026-11-25 10:00:00,000 INFO [payment.api] GET /api/stock status=200 trace_id=a6cecc1b78e510617311d8a3c2ce6f44 ok
        2026-11-25 10:00:00,001 WARNING [payment.db] pool nearly full
        2026-11-25 10:00:00,002 ERROR [payment.api] GET /api/pay status=500 trace_id=6ec9d28663ca828dd5f4b3b2e4b06ce6 failed

        """.write(toFile: log, atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("logship.yml").path
        try "agent:\n  host_name: edge-7\n  inputs:\n    - {service: payment, paths: [\"\(log)\"], format: python}\n"
            .write(toFile: config, atomically: true, encoding: .utf8)

        let plain = try LogshipBinary.run(["parse", log, "-c", config])
        let keyed = try LogshipBinary.run(["parse", log, "-c", config, "--keys"])
        #expect(plain.status == 0 && keyed.status == 0, "\(plain.stderr)\(keyed.stderr)")
        let rows = keyed.stdout.split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 1).map(String.init) }
        #expect(rows.count == 3 && rows.allSatisfy { $0.count == 2 })
        #expect(rows.map { $0[1] } == plain.stdout.split(separator: "\n").map(String.init), "the events are the same")
        #expect(rows.first?.first == "a6cecc1b78e510617311d8a3c2ce6f44" && rows.last?.first == "6ec9d28663ca828dd5f4b3b2e4b06ce6")
        let fileKey = rows.count == 3 ? rows[1][0] : ""
        #expect(fileKey.hasPrefix("edge-7|") && fileKey.count > "edge-7|".count, "no trace id: host and file identity, got \(fileKey)")
    }

    @Test func doctorAndTopicsAgainstNoidaDB() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let target = ["--brokers", server.kafkaBootstrap, "--es-url", server.elasticsearchURL]

        let doctor = try LogshipBinary.run(["doctor", "--json"] + target)
        #expect(doctor.status == 0, "\(doctor.stdout)\(doctor.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any]
        #expect((report?["kafka"] as? [String: Any])?["brokerCount"] as? Int == 1)
        #expect(((report?["elasticsearch"] as? [String: Any])?["version"] as? String)?.contains("8.") == true)

        let create = try LogshipBinary.run(["topics", "create", "logs.payment", "--partitions", "4"] + target)
        #expect(create.status == 0, "\(create.stderr)")
        let again = try LogshipBinary.run(["topics", "create", "logs.payment", "--partitions", "4"] + target)
        #expect(again.status == 1 && again.stderr.contains("logs.payment"))
        #expect(try LogshipBinary.run(["topics", "create", "logs.payment", "--if-not-exists"] + target).status == 0)

        let list = try LogshipBinary.run(["topics", "list", "--json"] + target)
        let topics = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
        #expect(topics?.first { $0["name"] as? String == "logs.payment" }?["partitions"] as? Int == 4)

        let describe = try LogshipBinary.run(["topics", "describe", "logs.payment", "--json"] + target)
        let detail = try JSONSerialization.jsonObject(with: Data(describe.stdout.utf8)) as? [String: Any]
        #expect((detail?["partitions"] as? [[String: Any]])?.count == 4)

        let missing = try LogshipBinary.run(["topics", "describe", "logs.nothing"] + target)
        #expect(missing.status == 1 && missing.stderr.contains("logs.nothing"))
    }
}
