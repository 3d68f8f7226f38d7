import Foundation
import KafkaClient
import Testing
import TestSupport

/// Every broker of a mock cluster down for 30 s while the service keeps logging: the agent
/// pauses reading (the files are the buffer), its memory stays bounded, and once the brokers
/// are back it resumes by itself and nothing is lost.
@Suite(.serialized) struct AgentOutageTests {
    static let rssBoundBytes = 64 * 1024 * 1024  // debug build; the release target is 30 MB (see bench/agent.sh)

    @Test func allBrokersDownThirtySecondsLosesNothingAndMemoryStaysBounded() throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        try cluster.createTopic("logs.outage", partitions: 3, replicationFactor: 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outage-\(UUID().uuidString.prefix(8))")
        let logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(cluster.bootstrapServers)"], partitions: 3}
        agent:
          data_dir: \(dir.path)/data
          max_in_flight: 2000
          inputs:
            - {service: outage, paths: ["\(logs.path)/app.log"], format: python}
        """.write(to: config, atomically: true, encoding: .utf8)
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [cluster.bootstrapServers], properties: ["log_level": "0"]))
        func stored() -> Int64 {
            (0..<3).reduce(Int64(0)) { $0 + ((try? admin.watermarks(TopicPartition("logs.outage", Int32($1))))?.high ?? 0) }
        }

        let agent = RoleProcess(["agent", "--config", config.path], log: dir.appendingPathComponent("agent.log"))
        try agent.start()
        defer { agent.kill9() }
        _ = try PythonScript.run("rotating_writer.py", [logs.path, "--lines", "5000", "--rotate-every", "1000000", "--per-second", "20000"])
        try waitUntil(timeout: 60, "5,000 lines before the outage") { stored() == 5_000 }

        for broker in 1...3 { try cluster.setBrokerDown(Int32(broker)) }
        let outageStart = Date()
        _ = try PythonScript.run("rotating_writer.py", [logs.path, "--lines", "20000", "--first", "5000", "--rotate-every", "1000000",
                                                        "--per-second", "20000"])
        var peakRSS = 0
        while Date().timeIntervalSince(outageStart) < 30 {
            peakRSS = max(peakRSS, agent.residentBytes ?? 0)
            #expect(agent.isRunning, "the agent keeps running through the outage")
            Thread.sleep(forTimeInterval: 0.25)
        }
        for broker in 1...3 { try cluster.setBrokerUp(Int32(broker)) }
        try waitUntil(timeout: 120, "all 25,000 lines after the brokers came back (log: \(agent.logURL.path))") { stored() >= 25_000 }

        // Read everything back: every line number once per distinct event id, none missing.
        let consumer = try KafkaConsumer(KafkaConsumerConfiguration(
            kafka: KafkaConfiguration(brokers: [cluster.bootstrapServers], properties: ["log_level": "0"]), groupID: "outage-check"))
        try consumer.subscribe(["logs.outage"])
        var idsByLine: [Int: Set<String>] = [:]
        try waitUntil(timeout: 60, interval: 0, "reading back 25,000 lines") {
            for message in try consumer.pollBatch(maxMessages: 5_000, timeoutMs: 200) {
                let event = try JSONSerialization.jsonObject(with: Data(message.value)) as? [String: Any]
                guard let text = event?["message"] as? String, text.hasPrefix("line "),
                      let line = Int(text.dropFirst(5).prefix { $0 != " " }),
                      let id = (event?["event"] as? [String: Any])?["id"] as? String else { continue }
                idsByLine[line, default: []].insert(id)
            }
            return idsByLine.count >= 25_000
        }
        consumer.closeBlocking()
        #expect(Set(idsByLine.keys) == Set(0..<25_000), "nothing lost")
        #expect(idsByLine.values.allSatisfy { $0.count == 1 })
        #expect(peakRSS > 0 && peakRSS < Self.rssBoundBytes, "peak RSS \(peakRSS / 1_048_576) MiB during the outage")
        #expect(agent.terminate() == 0)
        print("outage test: peak agent RSS during the 30 s outage \(peakRSS / 1_048_576) MiB; 25,000 lines, none lost")
    }

    /// SIGTERM while Kafka cannot be reached and the in-flight bound is full: the agent still
    /// stops within its shutdown deadline and exits 0 (it used to hang for ever on its final
    /// heartbeat, which waited for room that never came), and nothing unacknowledged is
    /// recorded as shipped: the registry stays at offset 0, so it is all read again.
    @Test func sigtermWithKafkaUnreachableAndTheBoundFullExitsWithinTheDeadline() throws {
        let deadPort = try FreePort.next()  // nothing listens there
        let metricsPort = try FreePort.next()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unreachable-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("app.log")
        try (0..<1_000).map { "2026-11-25 10:00:00,\(String(format: "%03d", $0 % 1000)) INFO [app] line \($0)\n" }.joined()
            .write(to: log, atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["127.0.0.1:\(deadPort)"], properties: {log_level: "0"}}
        agent:
          data_dir: \(dir.path)/data
          max_in_flight: 50
          shutdown_timeout: 2s
          metrics_listen: 127.0.0.1:\(metricsPort)
          inputs:
            - {service: unreachable, paths: ["\(log.path)"], format: python}
        """.write(to: config, atomically: true, encoding: .utf8)
        let agent = RoleProcess(["agent", "--config", config.path], log: dir.appendingPathComponent("agent.log"))
        try agent.start()
        defer { agent.kill9() }
        try waitUntil(timeout: 60, "the in-flight bound to fill (log: \(agent.logURL.path))") {
            let scraped = (try? PythonScript.run("scrape_prometheus.py", ["http://127.0.0.1:\(metricsPort)/metrics"])) ?? ""
            let series = (try? JSONSerialization.jsonObject(with: Data(scraped.utf8))) as? [String: Double]
            return series?["logship_agent_producer_queue_depth"] == 50
        }
        let stopping = Date()
        #expect(agent.terminate(timeout: 30) == 0, "SIGTERM exits 0; log: \(agent.log.suffix(2_000))")
        // The 2-s deadline, plus at most one topic-creation attempt (10 s) already under way.
        #expect(Date().timeIntervalSince(stopping) < 15, "within the shutdown deadline")
        let registry = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("data/registry.json")))
        let offsets = (registry as? [[String: Any]] ?? []).compactMap { $0["offset"] as? Int }
        #expect(offsets == [0], "nothing acknowledged, nothing recorded: \(registry)")
    }
}

