import ElasticClient
import Foundation
import KafkaClient
import LogModel
import Testing
import TestSupport

/// What cluster/up does, on private ports: 2 minutes of demo traffic with the payment incident
/// (at +75 s) through one agent and two indexers; every event the demo wrote is in
/// Elasticsearch exactly once, and the detector raised the incident's alert.
@Suite(.serialized) struct ClusterUpTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func twoMinutesOfDemoTrafficArriveExactlyOnceRaiseTheIncidentAlertAndDownLeavesNothing() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-\(UUID().uuidString.prefix(8))")
        let env = ["LOGSHIP_RUN_DIR": run.path, "LOGSHIP_BIN": try LogshipBinary.path()]
        defer {
            _ = try? Subprocess.run(root.appendingPathComponent("cluster/down").path, ["--purge"], environment: env, timeout: 120)
        }
        let up = try Subprocess.run(root.appendingPathComponent("cluster/up").path,
                                    ["--indexers", "2", "--rate", "20", "--demo-duration", "120s"], environment: env, timeout: 600)
        #expect(up.status == 0, "cluster/up failed: \(up.stdout)\(up.stderr)")
        #expect(up.stdout.contains("logship is up") && up.stdout.contains("cluster/down"), "next commands printed")

        let config = try String(contentsOf: run.appendingPathComponent("logship.yml"), encoding: .utf8)
        let esURL = try #require(config.split(separator: "\n").first { $0.contains("url:") }?.split(separator: "\"").dropFirst().first)
        let brokers = try #require(config.split(separator: "\n").first { $0.contains("brokers:") }?.split(separator: "\"").dropFirst().first)
        let pids = run.appendingPathComponent("pids")
        let demoPid = try #require(Int32(try String(contentsOf: pids.appendingPathComponent("demo.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        try waitUntil(timeout: 180, interval: 0.5, "the 2 minutes of demo traffic to end") { kill(demoPid, 0) != 0 }
        let demoEnded = Timestamps.format(epochMillis: Int64(Date().timeIntervalSince1970 * 1000))

        let counts = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("demo/demo-counts.json"))) as? [String: Int])
        #expect(counts.keys.sorted() == ["gateway", "inventory", "orders", "payment"])
        let es = try ElasticClient(ElasticConfiguration(url: String(esURL)))
        try waitUntil(timeout: 240, interval: 1, "every demo event to be searchable") {
            try counts.allSatisfy { service, written in
                _ = try? es.refresh("logs-\(service)")
                return ((try? es.count("logs-\(service)")) ?? -1) >= written
            }
        }
        for (service, written) in counts {
            #expect(try es.count("logs-\(service)") == written, "\(service): documents = events written")
            // No duplicates: distinct event ids equal the document count.
            let answer = try es.search("logs-\(service)", ["size": 0, "aggs": ["ids": ["cardinality": ["field": "event.id"]]]])
            #expect(answer[path: "aggregations.ids.value"]?.int == written, "\(service): distinct event ids")
        }
        // The incident left its mark: payment errors with stack traces.
        let errors = try es.count("logs-payment", query: ["term": ["log.level": "ERROR"]])
        #expect(errors > 10)
        // `logship patterns`: the incident's UpstreamTimeout template is new against the traffic
        // before it (the incident runs from +75 s to +105 s of the 120 s: the last 50 s against
        // the 60 s before them); the ordinary charge template is not new.
        let mined = try LogshipBinary.run(["patterns", "--es-url", String(esURL), "--service", "payment", "--until", demoEnded,
                                           "--since", "50s", "--baseline", "60s", "--json"], timeout: 60)
        #expect(mined.status == 0, "\(mined.stderr)")
        let patterns = ((try? JSONSerialization.jsonObject(with: Data(mined.stdout.utf8)) as? [String: Any])?["patterns"] as? [[String: Any]]) ?? []
        let timeout = patterns.first { ($0["template"] as? String)?.contains("UpstreamTimeout") == true }
        #expect(timeout?["change"] as? String == "new", "\(patterns.map { "\($0["change"] ?? "") \($0["template"] ?? "")" })")
        #expect(patterns.contains { ($0["template"] as? String)?.contains("charged") == true && $0["change"] as? String != "new" },
                "\(patterns.map { "\($0["change"] ?? "") \($0["template"] ?? "")" })")

        // The detector saw the incident: a firing alert for payment, with its owner and context.
        var alerts: [[String: Any]] = []
        try waitUntil(timeout: 60, interval: 1, "the detector's alert for the payment incident") {
            let listed = try LogshipBinary.run(["alerts", "--config", run.appendingPathComponent("logship.yml").path, "--json"], timeout: 60)
            alerts = (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]) ?? []
            return alerts.contains { $0["service"] as? String == "payment" && $0["state"] as? String == "firing" && $0["rule"] as? String != "new_pattern" }
        }
        let incident = try #require(alerts.first {
            $0["service"] as? String == "payment" && $0["state"] as? String == "firing" && $0["rule"] as? String != "new_pattern"
        })
        #expect(["error_surge", "error_rate", "http_5xx_ratio"].contains(incident["rule"] as? String ?? ""))
        let context = incident["context"] as? [String: Any] ?? [:]
        #expect(context["owner"] as? String == "@pay-oncall")
        let related = context["events"] as? [[String: Any]] ?? []
        #expect(related.count == 3 && related.allSatisfy { ($0["message"] as? String ?? "").contains("503") }, "the last errors: \(related)")
        // The detector's new_pattern rule: the UpstreamTimeout template, once.
        let newTemplates = alerts.filter { $0["service"] as? String == "payment" && $0["rule"] as? String == "new_pattern" }
            .compactMap { ($0["pattern"] as? [String: Any])?["template"] as? String }
        #expect(newTemplates.filter { $0.contains("UpstreamTimeout") }.count == 1, "\(newTemplates)")
        // One incident: payment the origin (its failing spans are the deepest of the shared
        // traces), gateway and orders affected; exactly one of its alerts is the lead, so each
        // destination gets one message for it.
        let grouped = alerts.filter { ($0["incident"] as? [String: Any]) != nil && $0["state"] as? String == "firing" }
        let incidents = Set(grouped.compactMap { ($0["incident"] as? [String: Any])?["id"] as? String })
        #expect(incidents.count == 1, "\(alerts.map { "\($0["service"] ?? "") \($0["rule"] ?? "") \(String(describing: $0["incident"]))" })")
        let demoIncident = grouped.first?["incident"] as? [String: Any] ?? [:]
        #expect(demoIncident["origin"] as? String == "payment")
        #expect(Set(demoIncident["services"] as? [String] ?? []) == ["payment", "gateway", "orders"], "\(demoIncident)")
        #expect(grouped.filter { $0["id"] as? String == demoIncident["lead"] as? String }.count == 1)
        #expect(grouped.first { $0["id"] as? String == demoIncident["lead"] as? String }?["service"] as? String == "payment")
        // While the demo ran, nothing fired for inventory, which had no incident. (Once the demo
        // stops, `silence` rightly fires for every service, so later windows do not count.)
        #expect(!alerts.contains { $0["service"] as? String == "inventory" && $0["state"] as? String == "firing"
                                   && (($0["window"] as? [String: Any])?["end"] as? String ?? "") < demoEnded },
                "no alert for a service without an incident: \(alerts)")

        // The coordinator's dashboard, rendered by headless Chromium: the services by name, the
        // charts drawn (their SVG lines in the DOM, and their colours in the screenshot).
        let dashboard = try String(contentsOf: run.appendingPathComponent("coordinator.url"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try waitUntil(timeout: 60, interval: 1, "the coordinator to see the services") {
            (try? Subprocess.run("curl", ["-s", dashboard + "/api/v1/cluster"], timeout: 10).stdout.contains("\"name\":\"payment\"")) == true
        }
        let shot = try PythonScript.run("dashboard_screenshot.py", [dashboard + "/", run.appendingPathComponent("dashboard.png").path])
        let rendered = try #require(try JSONSerialization.jsonObject(with: Data(shot.utf8)) as? [String: Any])
        let dom = rendered["dom"] as? String ?? ""
        for service in counts.keys { #expect(dom.contains("<td>\(service)</td>"), "\(service) in the services table") }
        #expect(dom.contains("<polyline") && dom.contains("id=\"lagChart\""), "charts drawn")
        #expect((rendered["chart_pixels"] as? Int ?? 0) > 2_000, "non-empty chart area: \(rendered["chart_pixels"] ?? 0) series pixels")
        try? FileManager.default.copyItem(at: run.appendingPathComponent("dashboard.png"),
                                          to: FileManager.default.temporaryDirectory.appendingPathComponent("logship-dashboard-latest.png"))

        // The group catches up to lag 0.
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [String(brokers)], properties: ["log_level": "0"]))
        try waitUntil(timeout: 60, interval: 1, "the indexer group to reach lag 0") {
            var lag: Int64 = 0
            for topic in try admin.metadata().topics where topic.name.hasPrefix("logs.") && topic.name != "logs.dlq" {
                let partitions = topic.partitions.map { TopicPartition(topic.name, $0.id) }
                let committed = try admin.committedOffsets(group: "logship-indexer", partitions: partitions)
                for tp in partitions { lag += try admin.watermarks(tp).high - ((committed[tp] ?? nil) ?? 0) }
            }
            return lag == 0
        }

        let allPids = try FileManager.default.contentsOfDirectory(atPath: pids.path).compactMap {
            Int32((try? String(contentsOf: pids.appendingPathComponent($0), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "")
        }
        #expect(allPids.count == 7, "noida, demo, agent, two indexers, detector, coordinator")
        let down = try Subprocess.run(root.appendingPathComponent("cluster/down").path, [], environment: env, timeout: 120)
        #expect(down.status == 0)
        for pid in allPids { #expect(kill(pid, 0) != 0, "pid \(pid) still running after cluster/down") }
    }
}
