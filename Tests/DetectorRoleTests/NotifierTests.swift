import Detector
import DetectorRole
import Foundation
import KafkaClient
import LogshipConfig
import Synchronization
import Testing
import Telemetry
import TestSupport

/// `logship notifier` against noida-db and a local receiver (Tests/Scripts/webhook_receiver.py)
/// that answers as a generic webhook, a WeCom robot, a DingTalk robot (checking the signature
/// with Python's hmac) and Slack.
@Suite(.serialized) struct NotifierTests {
    static func alert(_ n: Int, message: String = "payment failed", events: Int = 1) -> Alert {
        Alert(id: String(format: "%032x", 0xA1E47 + n), rule: "error_surge", service: "svc-\(n)", state: "firing",
              severity: "critical", observed: Double(40 + n), baseline: 4,
              window: .init(start: "2026-11-26T10:00:00.000Z", end: "2026-11-26T10:05:00.000Z"),
              context: .init(events: Array(repeating: .init(time: "2026-11-26T10:04:59.000Z", message: message, traceID: "4bf92f3577b34da6a3ce929d0e0e4736"), count: events),
                             traceURL: "https://kibana.example/trace/4bf92f3577b34da6a3ce929d0e0e4736", owner: "@oncall-\(n)"))
    }

    static func produce(_ alerts: [Alert], brokers: String) throws {
        let records = try alerts.map { (topic: "logship.alerts", value: Array(try JSONEncoder().encode($0))) }
        let producer = try KafkaProducer(KafkaProducerConfiguration(
            kafka: KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"]), maxInFlight: 1_000, createTopicsWithPartitions: 1))
        let acked = Mutex(0)
        for record in records {
            try producer.enqueue(topic: record.topic, key: nil, value: record.value) { if case .success = $0 { acked.withLock { $0 += 1 } } }
        }
        #expect(producer.flushBlocking(timeoutMs: 30_000) && acked.withLock { $0 } == records.count)
    }

    /// Tests/Scripts/webhook_receiver.py on a free port: its process (stop it), its base URL and
    /// the JSONL file of what it received.
    static func startReceiver(in dir: URL, secret: String, failures: Int) throws -> (process: Process, base: String, received: URL) {
        let portFile = dir.appendingPathComponent("port"), received = dir.appendingPathComponent("received.jsonl")
        let receiver = try SignalReset.launch("/usr/bin/env", ["python3", PythonScript.path("webhook_receiver.py"), portFile.path, received.path, secret, String(failures)],
                                              log: dir.appendingPathComponent("receiver.log"))
        try waitUntil(timeout: 20, "the receiver to listen") { FileManager.default.fileExists(atPath: portFile.path) }
        return (receiver, "http://127.0.0.1:" + (try String(contentsOf: portFile, encoding: .utf8)), received)
    }

    @Test func everyFormatIsDeliveredSignedRateLimitedAsDigestsAndNeverTwice() throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let secret = "SEC" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let (receiver, base, received) = try Self.startReceiver(in: dir, secret: secret, failures: 2)
        defer { SignalReset.stop(receiver, grace: nil) }
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 1}
        detector:
          notify:
            - {type: webhook, url: "\(base)/webhook"}
            - {type: wecom, url: "\(base)/wecom?key=abc", rate_limit: 3/1h}
            - {type: dingtalk, url: "\(base)/dingtalk?access_token=xyz", secret: "\(secret)", rate_limit: 3/1h}
            - {type: slack, url: "\(base)/slack"}
        """.write(to: config, atomically: true, encoding: .utf8)

        // Eight alerts; the first has three long error messages, beyond WeCom's 4,096-byte limit.
        let alerts = (0..<8).map { n in
            n == 0 ? Self.alert(n, message: String(repeating: "支付失败 payment failed ", count: 100), events: 3) : Self.alert(n)
        }
        try Self.produce(alerts, brokers: server.kafkaBootstrap)
        func requests() -> [[String: Any]] {
            ((try? String(contentsOf: received, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        func delivered(_ path: String) -> [[String: Any]] { requests().filter { $0["path"] as? String == path && $0["status"] as? Int == 200 } }
        func text(_ request: [String: Any]) -> String {
            let body = request["body"] as? [String: Any]
            return ((body?["markdown"] as? [String: Any])?["content"] as? String) ?? ((body?["markdown"] as? [String: Any])?["text"] as? String)
                ?? (body?["text"] as? String) ?? ""
        }
        func servicesMentioned(_ path: String) -> Set<String> {
            Set(delivered(path).flatMap { request in alerts.map(\.service).filter { text(request).contains("· \($0)*") || text(request).contains("· **\($0)**") } })
        }

        let notifier = RoleProcess(["notifier", "--config", config.path], log: dir.appendingPathComponent("notifier-1.log"))
        try notifier.start()
        try waitUntil(timeout: 90, interval: 0.2, "every destination to have every alert") {
            delivered("/webhook").count == 8 && delivered("/slack").count == 8
                && servicesMentioned("/wecom").count == 8 && servicesMentioned("/dingtalk").count == 8
        }
        // Generic webhook: 503 twice, retried; each alert once, as stored, with its id as the key.
        let webhook = delivered("/webhook")
        #expect(requests().filter { $0["path"] as? String == "/webhook" && $0["status"] as? Int == 503 }.count == 2)
        #expect(Set(webhook.compactMap { $0["key"] as? String }) == Set(alerts.map(\.id)))
        #expect(Set(webhook.compactMap { ($0["body"] as? [String: Any])?["idempotency_key"] as? String }) == Set(alerts.map(\.id)))
        let first = try #require(webhook.first { $0["key"] as? String == alerts[0].id }?["body"] as? [String: Any])
        #expect(first["rule"] as? String == "error_surge" && first["service"] as? String == "svc-0" && first["observed"] as? Double == 40)
        #expect(((first["context"] as? [String: Any])?["owner"] as? String) == "@oncall-0")
        // WeCom and DingTalk: 3 per hour allowed, so two single alerts and one digest of six.
        for path in ["/wecom", "/dingtalk"] {
            let messages = delivered(path)
            #expect(messages.count == 3, "\(path): \(messages.count) messages")
            #expect(messages.last.map(text)?.contains("6 alerts (digest)") == true, "\(path) digest")
            #expect(messages.allSatisfy { (($0["body"] as? [String: Any])?["msgtype"] as? String) == "markdown" })
        }
        #expect(delivered("/wecom").allSatisfy { text($0).utf8.count <= 4_096 })
        #expect(delivered("/wecom").contains { text($0).contains("…(truncated)") }, "the 6 KB alert is cut to the limit")
        #expect(requests().filter { $0["path"] as? String == "/dingtalk" }.allSatisfy { $0["sign_ok"] as? Bool == true }, "DingTalk signatures verify")
        #expect(delivered("/slack").allSatisfy { text($0).contains("*[FIRING] error_surge") && text($0).contains("https://kibana.example/trace/") })
        #expect(notifier.terminate() == 0)

        // Restarted, it delivers only what is new: the ninth alert, and none of the first eight again.
        let restarted = RoleProcess(["notifier", "--config", config.path], log: dir.appendingPathComponent("notifier-2.log"))
        try restarted.start()
        try Self.produce([Self.alert(8)], brokers: server.kafkaBootstrap)
        try waitUntil(timeout: 60, interval: 0.2, "the ninth alert") { delivered("/webhook").count == 9 && delivered("/slack").count == 9 }
        #expect(Set(delivered("/webhook").compactMap { $0["key"] as? String }).count == 9, "no alert delivered twice")
        #expect(restarted.terminate() == 0)
    }

    /// The notifier built from its configuration and run in the test's ServiceGroup: it delivers,
    /// counts what it delivered on /metrics, and stops when the group shuts down.
    @Test func inProcessNotifierDeliversAndStops() async throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notify-inproc-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (receiver, base, received) = try Self.startReceiver(in: dir, secret: "SEC", failures: 0)
        defer { SignalReset.stop(receiver, grace: nil) }
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 1}
        detector: {notify: [{type: webhook, url: "\(base)/webhook"}]}
        """.write(to: config, atomically: true, encoding: .utf8)
        // Three alerts, then an incident of three services: one message for it, the lead's.
        var chain = (3..<6).map { Self.alert($0) }
        let incident = Incident(id: "incident-1", origin: "svc-3", services: ["svc-3", "svc-4", "svc-5"], lead: chain[0].id, sharedTraces: 12)
        for i in chain.indices { chain[i].incident = incident }
        try Self.produce((0..<3).map { Self.alert($0) } + chain, brokers: server.kafkaBootstrap)

        let notifier = Notifier(configuration: try ConfigurationLoader.load(path: config.path), logger: .init(label: "test"))
        let port = try FreePort.next()
        let metrics = try #require(MetricsServer(listen: "127.0.0.1:\(port)", metrics: notifier.metrics, logger: .init(label: "test")) {
            notifier.publishMetrics()
        })
        let running = InProcessRole(notifier, name: "notifier", servers: [metrics], deadline: .seconds(20))
        func lines() -> [String] { ((try? String(contentsOf: received, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        try waitUntil(timeout: 60, interval: 0.2, "four deliveries") { lines().count == 4 }
        try waitUntil(timeout: 10, "the delivered and grouped counters") {
            let samples = try? ScrapedMetrics.scrape("http://127.0.0.1:\(port)/metrics").samples
            return samples?["logship_notifier_messages_delivered_total"] == 4 && samples?["logship_notifier_alerts_grouped_total"] == 2
        }
        try await running.stop()
        #expect(notifier.delivered.load(ordering: .relaxed) == 4)
        let incidentMessages = lines().filter { $0.contains("incident-1") }
        #expect(incidentMessages.count == 1 && incidentMessages[0].contains(chain[0].id) && incidentMessages[0].contains("svc-5"), "\(incidentMessages)")
        #expect(!FreePort.isListening(port))
    }

    @Test func answersAreClassified() {
        #expect(DeliveryOutcome.of(status: 200, body: Array(#"{"errcode":0,"errmsg":"ok"}"#.utf8), type: .wecom) == .delivered)
        #expect(DeliveryOutcome.of(status: 200, body: Array(#"{"errcode":130101,"errmsg":"send too fast"}"#.utf8), type: .dingtalk)
            == .retry("errcode 130101: send too fast"))
        #expect(DeliveryOutcome.of(status: 200, body: Array(#"{"errcode":310000,"errmsg":"sign not match"}"#.utf8), type: .dingtalk)
            == .failed("errcode 310000: sign not match"))
        #expect(DeliveryOutcome.of(status: 503, body: [], type: .webhook) == .retry("HTTP 503: "))
        #expect(DeliveryOutcome.of(status: 404, body: Array("no".utf8), type: .slack) == .failed("HTTP 404: no"))
        // Cut at a character, the marker within the limit.
        #expect(NotificationFormat.truncate(String(repeating: "支", count: 10), toBytes: 21) == "支支\n…(truncated)")
    }
}
