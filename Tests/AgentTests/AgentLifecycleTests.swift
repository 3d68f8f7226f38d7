import Agent
import Foundation
import LogshipConfig
import Telemetry
import Testing
import TestSupport

/// The agent's lifecycle: run in-process in a ServiceGroup, reloaded by SIGHUP, stopped by
/// SIGTERM mid-load with Kafka down — exit 0, within the deadline, no error line, nothing lost.
@Suite(.serialized) struct AgentLifecycleTests {
    static func workspace(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("logs"), withIntermediateDirectories: true)
        return dir
    }

    static func append(_ lines: [String], to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
        try handle.close()
    }

    static func lines(_ service: String, _ range: Range<Int>) -> [String] {
        range.map { #"{"@timestamp":"2026-12-06T07:00:00Z","log.level":"INFO","message":"\#(service) line \#($0)"}"# }
    }

    static func messages(_ server: NoidaDB, _ service: String) throws -> [String] {
        try Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logs.\(service)").compactMap { $0.json?["message"] as? String }
    }

    @Test func inProcessAgentShipsAndStopsGracefully() async throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let dir = try Self.workspace("agent-inproc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("logs/app.log").path
        try Self.append(Self.lines("app", 0..<500), to: log)
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 1}
        agent:
          data_dir: \(dir.path)/data
          host_name: inproc
          inputs: [{service: app, paths: ["\(log)"], format: json}]
        """.write(to: config, atomically: true, encoding: .utf8)

        let agent = try LogAgent(configuration: ConfigurationLoader.load(path: config.path))
        let port = try FreePort.next()
        let metrics = try #require(MetricsServer(listen: "127.0.0.1:\(port)", metrics: agent.metrics, logger: .init(label: "test")) {
            agent.publishMetrics()
        })
        let running = InProcessRole(agent, name: "agent", servers: [metrics])
        try waitUntil(timeout: 60, "500 events in logs.app") { (try? Self.messages(server, "app").count) == 500 }
        let scraped = try ScrapedMetrics.scrape("http://127.0.0.1:\(port)/metrics")
        #expect(scraped.samples[#"logship_agent_events_sent_total{service="app"}"#] == 500)
        #expect(scraped.types["logship_agent_delivery_latency_seconds"] == "histogram")
        try await running.stop()
        #expect(agent.stats.snapshot.eventsSent == 500)
        let registry = try String(contentsOfFile: dir.appendingPathComponent("data/registry.json").path, encoding: .utf8)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int)
        #expect(registry.contains("\"offset\":\(size)") || registry.contains("\"offset\" : \(size)"), "registry at the file's end: \(registry)")
        #expect(!FreePort.isListening(port), "the metrics server stopped with the group")
    }

    @Test func sighupAddsAnInputAndRefusesABadConfiguration() throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let dir = try Self.workspace("agent-hup")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = dir.appendingPathComponent("logs/first.log").path
        let second = dir.appendingPathComponent("logs/second.log").path
        try Self.append(Self.lines("first", 0..<100), to: first)
        try Self.append(Self.lines("second", 0..<50), to: second)
        let config = dir.appendingPathComponent("logship.yml")
        func write(inputs: String) throws {
            try """
            kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 1}
            agent:
              data_dir: \(dir.path)/data
              host_name: hup
              inputs:
            \(inputs)
            """.write(to: config, atomically: true, encoding: .utf8)
        }
        let firstInput = #"    - {service: first, paths: ["\#(first)"], format: json}"#
        try write(inputs: firstInput)
        // `logship-agent`, the binary the packages and manifests run, reloads as `logship agent` does.
        let agent = RoleProcess(["--config", config.path], log: dir.appendingPathComponent("agent.log"),
                                executable: try LogshipBinary.agentPath())
        try agent.start()
        defer { agent.kill9() }
        try waitUntil(timeout: 60, "first's 100 lines") { (try? Self.messages(server, "first").count) == 100 }

        // A new input: its file ships without a restart; the first goes on.
        try write(inputs: firstInput + "\n" + #"    - {service: second, paths: ["\#(second)"], format: json}"#)
        agent.send(SIGHUP)
        try waitUntil(timeout: 60, "second's 50 lines after SIGHUP (log: \(agent.logURL.path))") {
            (try? Self.messages(server, "second").count) == 50
        }
        try Self.append(Self.lines("first", 100..<150), to: first)
        try waitUntil(timeout: 60, "first's next 50 lines") { (try? Self.messages(server, "first").count) == 150 }

        // An invalid configuration: refused with its problems, the old inputs keep shipping.
        try write(inputs: #"    - {service: first, paths: ["\#(first)"], format: json, timezone: Mars/Olympus}"# + "\n" + "    - {paths: []}")
        agent.send(SIGHUP)
        try waitUntil(timeout: 30, "the refusal in the log") { agent.log.contains("configuration reload refused") }
        let refusal = try #require(agent.log.range(of: "configuration reload refused").map { String(agent.log[$0.lowerBound...]) })
        #expect(refusal.contains("agent.inputs[0].timezone"), "every problem named: \(refusal)")
        #expect(refusal.contains("agent.inputs[1]"), "every problem named: \(refusal)")
        try Self.append(Self.lines("first", 150..<200), to: first)
        try Self.append(Self.lines("second", 50..<60), to: second)
        try waitUntil(timeout: 60, "both inputs still shipping") {
            (try? Self.messages(server, "first").count) == 200 && (try? Self.messages(server, "second").count) == 60
        }
        #expect(agent.terminate() == 0)
        // Nothing read twice, nothing skipped, in file order.
        #expect(try Self.messages(server, "first") == (0..<200).map { "first line \($0)" })
        #expect(try Self.messages(server, "second") == (0..<60).map { "second line \($0)" })
    }

    /// SIGTERM while the agent holds read records Kafka (down) never acknowledged: 20 times in a
    /// row it exits 0 within shutdown_timeout (+ margin) with no error line and its registry still
    /// at 0; then, with Kafka up, every line arrives exactly once.
    @Test func sigtermMidLoadWithKafkaDownTwentyTimes() throws {
        let dir = try Self.workspace("agent-term")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("logs/busy.log").path
        try Self.append(Self.lines("busy", 0..<3_000), to: log)
        let config = dir.appendingPathComponent("logship.yml")
        func write(brokers: String) throws {
            try """
            kafka: {brokers: ["\(brokers)"], partitions: 1}
            agent:
              data_dir: \(dir.path)/data
              host_name: term
              shutdown_timeout: 1s
              inputs: [{service: busy, paths: ["\(log)"], format: json}]
            """.write(to: config, atomically: true, encoding: .utf8)
        }
        try write(brokers: "127.0.0.1:\(try FreePort.next())")
        for round in 1...20 {
            let port = try FreePort.next()
            let agent = RoleProcess(["agent", "--config", config.path, "--metrics-listen", "127.0.0.1:\(port)"],
                                    log: dir.appendingPathComponent("agent-\(round).log"))
            try agent.start()
            try waitUntil(timeout: 30, "round \(round): the agent reading") {
                let text = (try? Subprocess.run("curl", ["-s", "http://127.0.0.1:\(port)/metrics"], timeout: 5).stdout) ?? ""
                return (PrometheusText.parse(text)["logship_agent_lines_read_total"] ?? 0) > 0
            }
            let (status, took) = agent.terminateTimed(timeout: 10)
            #expect(status == 0, "round \(round): exit \(String(describing: status)) (log: \(agent.logURL.path))")
            #expect(took < 1 + 5, "round \(round): stopped in \(took) s")
            #expect(agent.errorLines.isEmpty, "round \(round): \(agent.errorLines)")
            let registry = (try? String(contentsOfFile: dir.appendingPathComponent("data/registry.json").path, encoding: .utf8)) ?? ""
            #expect(!registry.contains(#""offset":"#) || registry.contains(#""offset":0"#), "round \(round): nothing acknowledged, nothing skipped")
        }
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        try write(brokers: server.kafkaBootstrap)
        let agent = RoleProcess(["agent", "--config", config.path], log: dir.appendingPathComponent("agent-up.log"))
        try agent.start()
        try waitUntil(timeout: 60, "3,000 lines with Kafka up") { (try? Self.messages(server, "busy").count) == 3_000 }
        #expect(agent.terminate() == 0)
        #expect(try Self.messages(server, "busy") == (0..<3_000).map { "busy line \($0)" })
    }
}
