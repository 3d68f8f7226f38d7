import DetectorRole
import Foundation
import KafkaClient
import LogshipConfig
import Telemetry
import Testing
import TestSupport

/// The detector's lifecycle: run in-process in a ServiceGroup; SIGTERM in the middle of its work
/// 20 times in a row — exit 0 within the deadline, no error line — and the incident still raises
/// each of its alerts exactly once.
@Suite(.serialized) struct DetectorLifecycleTests {
    static func setUp(_ server: NoidaDB) throws -> (dir: URL, config: String, base: Date) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("detector-life-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("logship.yml").path
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 3}
        services: {pay: {owner: "@pay-oncall"}}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let now = Date().timeIntervalSince1970
        let base = Date(timeIntervalSince1970: (now - 3 * 3600) - (now - 3 * 3600).truncatingRemainder(dividingBy: 60))
        return (dir, config, base)
    }

    static func summary(_ brokers: String) throws -> [String] {
        try DetectorRoleTests.alerts(brokers).map { "\($0["rule"] as? String ?? "") \($0["state"] as? String ?? "") \($0["severity"] as? String ?? "")" }
    }

    @Test func inProcessDetectorAlertsAndCommitsWithItsTransactions() async throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let (dir, config, base) = try Self.setUp(server)
        defer { try? FileManager.default.removeItem(at: dir) }
        try DetectorRoleTests.produce(minutes: 0..<75, base: base, brokers: server.kafkaBootstrap)

        let detector = try DetectorService(configuration: ConfigurationLoader.load(path: config), logger: .init(label: "test"))
        let port = try FreePort.next()
        let metrics = try #require(MetricsServer(listen: "127.0.0.1:\(port)", metrics: detector.metrics, logger: .init(label: "test")) {
            detector.publishMetrics()
        })
        let running = InProcessRole(detector, name: "detector", servers: [metrics], deadline: .seconds(45))
        try waitUntil(timeout: 90, interval: 0.2, "the surge's alert and its resolution") { try Self.summary(server.kafkaBootstrap).count >= 2 }
        try waitUntil(timeout: 30, "every event counted") {
            (try? ScrapedMetrics.scrape("http://127.0.0.1:\(port)/metrics").samples["logship_detector_events_total"]) == Double(75 * 300)
        }
        let scraped = try ScrapedMetrics.scrape("http://127.0.0.1:\(port)/metrics")
        #expect(scraped.types["logship_detector_transaction_duration_seconds"] == "histogram")
        #expect((scraped.samples["logship_detector_alerts_total"] ?? 0) >= 2)
        // Every scored rule of pay has its last window's score; after the incident, the usual.
        #expect(scraped.types["logship_detector_score"] == "gauge")
        for rule in ["error_surge", "error_rate", "http_5xx_ratio", "slow_requests", "silence", "volume_surge"] {
            let score = scraped.samples["logship_detector_score{rule=\"\(rule)\",service=\"pay\"}"]
            #expect(score.map { (0...1).contains($0) } == true, "\(rule): \(String(describing: score))")
        }
        #expect((scraped.samples[#"logship_detector_score{rule="error_surge",service="pay"}"#] ?? 1) < 0.8)
        try await running.stop()
        #expect(try Self.summary(server.kafkaBootstrap) == ["error_surge firing critical", "error_surge resolved info"])
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [server.kafkaBootstrap], properties: ["log_level": "0"]))
        let partitions = try admin.partitions(matching: "^logs\\.pay$")
        let committed = try admin.committedOffsets(group: "logship-detector", partitions: partitions)
        for (tp, range) in try admin.logOffsets(partitions) where range.high > range.low { #expect((committed[tp] ?? nil) == range.high, "\(tp)") }
    }

    @Test func sigtermMidWorkTwentyTimes() throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let (dir, config, base) = try Self.setUp(server)
        defer { try? FileManager.default.removeItem(at: dir) }
        let arguments = ["detector", "--config", config, "--poll-interval", "100"]
        for round in 1...20 {
            // Three more minutes of traffic each round: every run has a step with records to
            // read, windows to close and positions to commit in a transaction.
            try DetectorRoleTests.produce(minutes: (round - 1) * 3..<round * 3, base: base, brokers: server.kafkaBootstrap)
            let detector = RoleProcess(arguments, log: dir.appendingPathComponent("detector-\(round).log"))
            try detector.start()
            try waitUntil(timeout: 60, interval: 0.02, "round \(round): the detector started") { detector.log.contains("detector started") }
            let (status, took) = detector.terminateTimed(timeout: 60)
            #expect(status == 0, "round \(round): exit \(String(describing: status)) (log: \(detector.logURL.path))")
            #expect(took < 45, "round \(round): stopped in \(took) s, deadline 45 s")
            #expect(detector.errorLines.isEmpty, "round \(round): \(detector.errorLines)")
        }
        try DetectorRoleTests.produce(minutes: 60..<90, base: base, brokers: server.kafkaBootstrap)
        let last = RoleProcess(arguments, log: dir.appendingPathComponent("detector-last.log"))
        try last.start()
        try waitUntil(timeout: 90, interval: 0.2, "the resolved alert") { try Self.summary(server.kafkaBootstrap).count >= 2 }
        #expect(last.terminate() == 0)
        #expect(try Self.summary(server.kafkaBootstrap) == ["error_surge firing critical", "error_surge resolved info"])
    }

    /// SIGHUP: a rule switched on takes effect from the next step, with the windows kept; a
    /// change the detector cannot take (the window length) is refused and logged, and it goes on.
    @Test func sighupAppliesNewRulesAndRefusesAWindowChange() throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let (dir, config, base) = try Self.setUp(server)
        defer { if ProcessInfo.processInfo.environment["LOGSHIP_KEEP_TEST_LOGS"] == nil { try? FileManager.default.removeItem(at: dir) } }
        func write(_ detector: String) throws {
            try """
            kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 3}
            services: {pay: {owner: "@pay-oncall"}}
            \(detector)
            """.write(toFile: config, atomically: true, encoding: .utf8)
        }
        try write("detector: {rules: {error_surge: {enabled: false}, error_rate: {enabled: false}}}")
        let detector = RoleProcess(["detector", "--config", config, "--poll-interval", "200"], log: dir.appendingPathComponent("detector.log"))
        try detector.start()
        defer { detector.kill9() }
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [server.kafkaBootstrap], properties: ["log_level": "0"]))
        func everythingRead() throws -> Bool {
            let partitions = try admin.partitions(matching: "^logs\\.pay$")
            let committed = try admin.committedOffsets(group: "logship-detector", partitions: partitions)
            // (An empty partition has nothing to commit.)
            return try admin.logOffsets(partitions).allSatisfy { $0.value.high == $0.value.low || (committed[$0.key] ?? nil) == $0.value.high }
        }
        // The incident's first minutes with the error rules off: read to the end, nothing raised.
        try DetectorRoleTests.produce(minutes: 0..<62, base: base, brokers: server.kafkaBootstrap)
        try waitUntil(timeout: 90, interval: 0.2, "the first minutes read (log: \(detector.logURL.path))") { try everythingRead() }
        #expect(try Self.summary(server.kafkaBootstrap).isEmpty)

        // A window change is refused; the detector goes on.
        try write("detector: {window: 2m, rules: {error_surge: {enabled: false}, error_rate: {enabled: false}}}")
        detector.send(SIGHUP)
        try waitUntil(timeout: 30, "the refusal") { detector.log.contains("configuration reload refused") }
        #expect(detector.log.contains("detector.window"))

        // The error rules on again: the rest of the incident is judged against the windows kept
        // (sixty minutes of history, and the surge's first minute already learnt), and raised.
        try write("")
        detector.send(SIGHUP)
        try waitUntil(timeout: 30, "the reload") { detector.log.contains("configuration reloaded: detector rules") }
        try DetectorRoleTests.produce(minutes: 62..<75, base: base, brokers: server.kafkaBootstrap)
        try waitUntil(timeout: 90, interval: 0.2, "the incident's alert and resolution") { try Self.summary(server.kafkaBootstrap).count >= 2 }
        let summary = try Self.summary(server.kafkaBootstrap)
        #expect(summary == ["error_surge firing critical", "error_surge resolved info"], "\(summary)")
        #expect(detector.terminate() == 0)
        #expect(detector.errorLines.count == 1, "only the refusal: \(detector.errorLines)")
    }
}
