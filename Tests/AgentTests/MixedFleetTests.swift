import Foundation
import LogModel
import Testing
import TestSupport

/// A mixed fleet through agent → Kafka → detector: a Python text service on a UTC+8 host (its
/// times carry no zone) and a JSON service whose times carry a -05:00 offset log the same
/// instants; both services' events land in the same event-time windows, and the detector counts
/// no event late.
@Suite(.serialized) struct MixedFleetTests {
    @Test func aTextServiceOnAUTCPlus8HostAndAJSONServiceWithOffsetsShareTheirWindows() throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(UUID().uuidString.prefix(8))")
        let logs = dir.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        // 200 records each, 1.5 s apart, starting on a minute boundary 10 minutes ago.
        let count = 200
        let start = (Int(Date().timeIntervalSince1970) / 60 - 10) * 60
        let written = try Subprocess.run("python3", [PythonScript.path("write_fleet_logs.py"), logs.path, "\(count)", "\(start)"],
                                         environment: ["TZ": "Asia/Shanghai"])
        #expect(written.status == 0, "\(written.stderr)")
        let instants = try #require((try JSONSerialization.jsonObject(with: Data(written.stdout.utf8)) as? [String: Any])?["instants_ms"] as? [Int64])
        let payment = try String(contentsOf: logs.appendingPathComponent("payment.log"), encoding: .utf8)
        #expect(!payment.contains("+08") && !payment.contains("Z "), "the text service writes no zone")
        let orders = try String(contentsOf: logs.appendingPathComponent("orders.log"), encoding: .utf8)
        #expect(orders.contains("-05:00"))

        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 3}
        agent:
          data_dir: \(dir.path)/data
          host_name: fleet-host
          inputs:
            - {service: payment, paths: ["\(logs.path)/payment.log"]}
            - {service: orders, paths: ["\(logs.path)/orders.log"], format: json}
        detector: {window: 1m, allowed_lateness: 5s}
        coordinator: {heartbeat_interval: 1s}
        """.write(to: config, atomically: true, encoding: .utf8)

        // The agent runs on the UTC+8 host: timezone unset means the host's zone.
        let agent = RoleProcess(["agent", "--config", config.path], log: dir.appendingPathComponent("agent.log"))
        try agent.start(environment: ["TZ": "Asia/Shanghai"])
        let metricsFile = dir.appendingPathComponent("data/metrics.prom").path
        try waitUntil(timeout: 60, "the agent to ship \(2 * count) events (log: \(agent.logURL.path))") {
            let metrics = PrometheusText.parse((try? String(contentsOfFile: metricsFile, encoding: .utf8)) ?? "")
            return Int(metrics.filter { $0.key.hasPrefix("logship_agent_events_sent_total") }.values.reduce(0, +)) == 2 * count
        }
        #expect(agent.terminate() == 0)

        // What the detector reads: every event at its true instant, so the same windows for both services.
        func windows(_ service: String) throws -> [Int64: Int] {
            var perWindow: [Int64: Int] = [:]
            for record in try Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logs.\(service)") {
                let event = try #require(record.json)
                let message = try #require(event["message"] as? String)
                let index = try #require(Int(message.split(separator: " ").last ?? ""))
                let timestamp = try #require(event["@timestamp"] as? String)
                let ms = try #require(Timestamps.epochMillis(of: timestamp))
                #expect(ms == instants[index], "\(service) \(index): \(event["@timestamp"] ?? "")")
                #expect(event["tags"] == nil, "no future_timestamp or unparsed tag: \(event)")
                perWindow[ms / 60_000 * 60_000, default: 0] += 1
            }
            return perWindow
        }
        let paymentWindows = try windows("payment"), ordersWindows = try windows("orders")
        #expect(paymentWindows == ordersWindows)
        #expect(paymentWindows.values.reduce(0, +) == count && paymentWindows.count == 5)

        let detector = RoleProcess(["detector", "--config", config.path], log: dir.appendingPathComponent("detector.log"))
        try detector.start(environment: ["TZ": "Asia/Shanghai"])
        defer { detector.terminate() }
        var counters: [String: Any] = [:]
        try waitUntil(timeout: 90, "the detector to report \(2 * count) events (log: \(detector.logURL.path))") {
            let beats = (try? Kcat.readAll(brokers: server.kafkaBootstrap, topic: "logship.health")) ?? []
            guard let beat = beats.compactMap(\.json).last(where: { ($0["role"] as? String) == "detector" }),
                  let c = beat["counters"] as? [String: Any], (c["events"] as? Int ?? 0) >= 2 * count else { return false }
            counters = c
            return true
        }
        #expect(counters["late"] as? Int == 0, "no event counted late: \(counters)")
    }
}
