import Foundation
import KafkaClient
import Testing
import TestSupport

/// The agent binary against noida-db, with files written by real Python logging libraries.
@Suite(.serialized) struct AgentShippingTests {
    @Test func threeServicesArriveExactlyParsedMaskedAndInFileOrder() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString.prefix(8))")
        let logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        let output = try PythonScript.run("write_service_logs.py", [logs.path, "300"])
        let written = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let manifest = try #require(written["manifest"] as? [String: [[String: Any]]])
        let secrets = try #require(written["secrets"] as? [String])

        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 3}
        agent:
          data_dir: \(dir.path)/data
          host_name: test-host
          inputs:
            - {service: payment, paths: ["\(logs.path)/payment.log"], format: python, fields: {env: test}}
            - {service: orders, paths: ["\(logs.path)/orders.log"], format: json}
            - {service: inventory, paths: ["\(logs.path)/inventory.log"], format: auto}
            - {service: legacy, paths: ["\(logs.path)/legacy.log"], format: plain, multiline: none}
          max_line_bytes: 4096
        services:
          orders: {debug: true}
        """.write(to: config, atomically: true, encoding: .utf8)

        let metricsPort = try FreePort.next()
        let agent = RoleProcess(["agent", "--config", config.path, "--metrics-listen", "127.0.0.1:\(metricsPort)"],
                                log: dir.appendingPathComponent("agent.log"))
        try agent.start()
        let expectedTotal = manifest.values.reduce(0) { $0 + $1.count }
        let metricsFile = dir.appendingPathComponent("data/metrics.prom").path
        try waitUntil(timeout: 60, "the agent to ship \(expectedTotal) events (log: \(agent.logURL.path))") {
            let metrics = PrometheusText.parse((try? String(contentsOfFile: metricsFile, encoding: .utf8)) ?? "")
            let sent = metrics.filter { $0.key.hasPrefix("logship_agent_events_sent_total") }.values.reduce(0, +)
            return Int(sent) == expectedTotal
        }
        // The Prometheus endpoint passes promtool's lint and the reference parser, and agrees with the counters.
        let scraped = try ScrapedMetrics.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        let series = scraped.samples
        #expect(scraped.types["logship_agent_delivery_latency_seconds"] == "histogram")
        #expect(series["logship_agent_delivery_latency_seconds_count"] == Double(expectedTotal))
        #expect(series[#"logship_build_info{role="agent",version="0.1.0"}"#] == 1)
        #expect(series["logship_agent_events_sent_total{service=\"orders\"}"] == Double(manifest["orders"]!.count))
        #expect(series["logship_agent_producer_queue_depth"] == 0)
        #expect(series.keys.contains { $0.hasPrefix("logship_agent_bytes_behind{file=") })
        #expect(agent.terminate() == 0, "SIGTERM exits 0")
        // Heartbeats: the agent announced itself on logship.health and said goodbye.
        let beats = try Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logship.health").compactMap(\.json)
        #expect(beats.contains { $0["id"] as? String == "agent@test-host" && $0["status"] as? String == "up" && $0["role"] as? String == "agent" })
        #expect(beats.last { $0["id"] as? String == "agent@test-host" }?["status"] as? String == "stopped")
        let metrics = PrometheusText.parse(try String(contentsOfFile: metricsFile, encoding: .utf8))

        var rawOutput = ""
        for (service, expected) in manifest {
            let records = try Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logs.\(service)")
            rawOutput += records.map(\.value).joined(separator: "\n")
            #expect(records.count == expected.count, "\(service): \(records.count) records for \(expected.count) written")
            let events = records.compactMap(\.json)
            #expect(events.count == records.count, "\(service): every record is one JSON event")

            // File order holds within each partition (a partition is Kafka's unit of order).
            for partition in Set(records.map(\.partition)) {
                let offsets = zip(records, events).filter { $0.0.partition == partition }.compactMap { ($0.1["log"] as? [String: Any])?["offset"] as? Int }
                #expect(offsets == offsets.sorted(), "\(service) partition \(partition) out of file order")
            }
            // Exactly the records written: same messages, same count, nothing extra.
            let byOffset = events.sorted { (($0["log"] as? [String: Any])?["offset"] as? Int ?? 0) < (($1["log"] as? [String: Any])?["offset"] as? Int ?? 0) }
            for (event, want) in zip(byOffset, expected) {
                let message = event["message"] as? String ?? ""
                if let text = want["message"] as? String { #expect(message == text) }
                if let prefix = want["prefix"] as? String { #expect(message.hasPrefix(prefix)) }
                if let part = want["contains"] as? String { #expect(message.contains(part)) }
                let log = event["log"] as? [String: Any]
                if let level = want["level"] as? String { #expect(log?["level"] as? String == level, "\(message)") }
                if let logger = want["logger"] as? String { #expect(log?["logger"] as? String == logger) }
                if let trace = want["trace"] as? String { #expect((event["trace"] as? [String: Any])?["id"] as? String == trace) }
                if let span = want["span"] as? String { #expect((event["span"] as? [String: Any])?["id"] as? String == span) }
                if let status = want["status"] as? Int {
                    #expect(((event["http"] as? [String: Any])?["response"] as? [String: Any])?["status_code"] as? Int == status)
                }
                if let duration = want["duration_ns"] as? Int { #expect((event["event"] as? [String: Any])?["duration"] as? Int == duration) }
                if let type = want["error_type"] as? String {
                    let error = event["error"] as? [String: Any]
                    #expect(error?["type"] as? String == type)
                    #expect((error?["stack_trace"] as? String)?.contains("Traceback (most recent call last):") == true)
                }
                #expect((event["event"] as? [String: Any])?["id"] as? String != nil)
                #expect((event["host"] as? [String: Any])?["name"] as? String == "test-host")
                #expect((event["service"] as? [String: Any])?["name"] as? String == service)
            }
        }
        // Secrets never reach Kafka.
        for secret in secrets { #expect(!rawOutput.contains(secret), "secret \(secret) reached Kafka") }
        #expect(rawOutput.contains("[MASKED]"))
        // DEBUG only where enabled: orders (enabled) shipped its DEBUG lines, payment dropped 8.
        #expect(metrics["logship_agent_events_dropped_total{service=\"payment\",reason=\"debug\"}"] == 8)
        #expect(!rawOutput.contains("debug detail"))
        #expect(rawOutput.contains("cart state"))
        // Bad input is counted, repaired and flagged; the rest flows.
        #expect(metrics["logship_agent_bad_input_total{kind=\"invalid_utf8\"}"] == 2)
        #expect(metrics["logship_agent_bad_input_total{kind=\"truncated\"}"] == 1)
        #expect(metrics["logship_agent_events_dropped_total{service=\"legacy\",reason=\"empty\"}"] == 2)
        let legacy = try Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logs.legacy").compactMap(\.json)
        let tags = legacy.compactMap { $0["tags"] as? [String] }
        #expect(tags.filter { $0.contains("invalid_utf8") }.count == 2)
        #expect(tags.filter { $0.contains("truncated") }.count == 1)
        #expect(legacy.allSatisfy { ($0["message"] as? String ?? "").utf8.count <= 4096 })
    }

    /// `**` globs, `exclude`, compressed rotations and `ignore_older`: which files are read, and
    /// the matched/ignored counts in the metrics.
    @Test func fileSelectionByGlobExcludeAndAge() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("select-\(UUID().uuidString.prefix(8))")
        let logs = dir.appendingPathComponent("logs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = ["app.log": "fresh", "deep/er/nested.log": "nested", "old.log": "old", "app.log.1.gz": "gz", "skip.log": "skip"]
        for (name, word) in files {
            let url = logs.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try (0..<5).map { "2026-12-06 04:00:0\($0),000 INFO [sel] \(word) \($0)\n" }.joined().write(to: url, atomically: true, encoding: .utf8)
        }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-2 * 86_400)],
                                              ofItemAtPath: logs.appendingPathComponent("old.log").path)
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 1}
        agent:
          data_dir: \(dir.path)/data
          inputs:
            - {service: sel, paths: ["\(logs.path)/**/*.log*"], exclude: ["skip.*"], ignore_older: 1h, timezone: UTC}
        """.write(to: config, atomically: true, encoding: .utf8)
        let agent = RoleProcess(["agent", "--config", config.path], log: dir.appendingPathComponent("agent.log"))
        try agent.start()
        let metricsFile = dir.appendingPathComponent("data/metrics.prom").path
        var metrics: [String: Double] = [:]
        try waitUntil(timeout: 60, "the agent to ship the two selected files (log: \(agent.logURL.path))") {
            metrics = PrometheusText.parse((try? String(contentsOfFile: metricsFile, encoding: .utf8)) ?? "")
            return metrics.filter { $0.key.hasPrefix("logship_agent_events_sent_total") }.values.reduce(0, +) == 10
        }
        #expect(agent.terminate() == 0)
        #expect(metrics["logship_agent_files_matched"] == 5)
        #expect(metrics["logship_agent_files_ignored"] == 3, "skip.log (exclude), app.log.1.gz (compressed), old.log (ignore_older)")
        let words = Set(try Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logs.sel").compactMap {
            ($0.json?["message"] as? String)?.split(separator: " ").first.map(String.init)
        })
        #expect(words == ["fresh", "nested"])
    }
}
