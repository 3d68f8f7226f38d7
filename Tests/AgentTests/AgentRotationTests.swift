import Foundation
import KafkaClient
import Testing
import TestSupport

/// Rotation (rename and copytruncate) under load while the agent is SIGKILLed and restarted:
/// every line arrives, and a line shipped twice carries the same event.id both times.
@Suite(.serialized) struct AgentRotationTests {
    @Test func rotationAndRepeatedSigkillLoseNothingAndKeepIds() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rotation-\(UUID().uuidString.prefix(8))")
        let logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("logship.yml")
        // app.log* also matches the rotated copies: a copytruncate copy holds lines not yet read.
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 3}
        agent:
          data_dir: \(dir.path)/data
          host_name: rotation-host
          inputs:
            - {service: rotation, paths: ["\(logs.path)/app.log*"], format: python}
        """.write(to: config, atomically: true, encoding: .utf8)

        let lines = 24_000
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: try Subprocess.which("python3"))
        writer.arguments = [PythonScript.path("rotating_writer.py"), logs.path, "--lines", String(lines),
                            "--rotate-every", "2500", "--per-second", "3000"]
        writer.standardOutput = FileHandle.nullDevice
        try writer.run()
        defer { if writer.isRunning { writer.terminate() } }

        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [server.kafkaBootstrap]))
        func shipped() -> Int64 {
            (0..<3).reduce(Int64(0)) { $0 + ((try? admin.watermarks(TopicPartition("logs.rotation", Int32($1))))?.high ?? 0) }
        }
        let agent = RoleProcess(["agent", "--config", config.path], log: dir.appendingPathComponent("agent.log"))
        var kills = 0
        try agent.start()
        while writer.isRunning || kills < 5 {
            // Kill once the agent has made progress since its last start, mid-stream.
            let before = shipped()
            try waitUntil(timeout: 60, "the agent to ship more (log: \(agent.logURL.path))") { shipped() >= before + 1_500 || (!writer.isRunning && kills >= 5) }
            if kills < 7 {
                agent.kill9()
                kills += 1
                try agent.start()
            } else {
                break
            }
        }
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        #expect(kills >= 5)

        // Let the last incarnation catch up: every line number present.
        var events: [[String: Any]] = []
        try waitUntil(timeout: 120, interval: 0.5, "all \(lines) lines in Kafka") {
            events = try Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logs.rotation").compactMap(\.json)
            return Set(events.compactMap(Self.lineNumber)).count >= lines
        }
        #expect(agent.terminate() == 0)

        var idsByLine: [Int: Set<String>] = [:]
        for event in events {
            guard let line = Self.lineNumber(event), let id = (event["event"] as? [String: Any])?["id"] as? String else { continue }
            idsByLine[line, default: []].insert(id)
        }
        #expect(idsByLine.count == lines, "every line written is in Kafka")
        #expect(Set(idsByLine.keys) == Set(0..<lines))
        let reIded = idsByLine.filter { $0.value.count > 1 }
        let sample = reIded.keys.sorted().prefix(3).map { line in
            events.filter { Self.lineNumber($0) == line }.map { event -> String in
                let log = event["log"] as? [String: Any]
                return "\((log?["file"] as? [String: Any])?["path"] ?? "?")@\(log?["offset"] ?? "?")"
            }
        }
        #expect(reIded.isEmpty, "\(reIded.count) lines shipped twice under different ids, e.g. \(sample)")
        let distinctIDs = Set(events.compactMap { ($0["event"] as? [String: Any])?["id"] as? String })
        #expect(distinctIDs.count == lines, "distinct event.ids = lines written")
        print("rotation test: \(lines) lines, \(events.count) records in Kafka (\(events.count - lines) re-sent after kills), \(kills) SIGKILLs")
    }

    static func lineNumber(_ event: [String: Any]) -> Int? {
        guard let message = event["message"] as? String, message.hasPrefix("line ") else { return nil }
        return Int(message.dropFirst(5).prefix { $0 != " " })
    }
}
