import Foundation
import KafkaClient
import Synchronization
import Testing
import TestSupport

/// `logship detector` against noida-db: an error surge in event time, the detector stopped
/// right after its first alert and started again; every alert of the incident is in
/// `logship.alerts` exactly once. (A SIGKILL cannot be shown here: noida-db never evicts a
/// SIGKILLed group member, and librdkafka's mock cluster keeps no offsets committed in
/// transactions — see DetectorGroupTests.)
@Suite(.serialized) struct DetectorRoleTests {

    /// Minutes of "pay" traffic: 300 events a minute, 2 errors, 30 during minutes 60–69.
    /// 300 events of pay a minute, 2 of them errors (`m<minute>.<i>`: one template), 30 from
    /// minute 60 to 69. With `newTemplate` the incident's errors are a new failure instead: a
    /// charge timing out (`UpstreamTimeout`), each in its own trace.
    static func produce(minutes: Range<Int>, base: Date, brokers: String, newTemplate: Bool = false) throws {
        let producer = try KafkaProducer(KafkaProducerConfiguration(
            kafka: KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"]), maxInFlight: 20_000,
            createTopicsWithPartitions: 3))
        let acked = Mutex(0)
        var count = 0
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for minute in minutes {
            let errors = (60..<70).contains(minute) ? 30 : 2
            for i in 0..<300 {
                let at = formatter.string(from: base.addingTimeInterval(Double(minute * 60) + Double(i) * 0.2))
                let level = i < errors ? "ERROR" : "INFO"
                var value = #"{"@timestamp":"\#(at)","message":"m\#(minute).\#(i)","service":{"name":"pay"},"log":{"level":"\#(level)"}}"#
                if newTemplate && (60..<70).contains(minute) && i < errors {
                    value = #"{"@timestamp":"\#(at)","message":"charge ch_\#(minute)_\#(i) failed after \#(3_000 + i) ms","service":{"name":"pay"},"#
                        + #""log":{"level":"ERROR"},"trace":{"id":"t\#(minute)x\#(i)"},"error":{"type":"UpstreamTimeout","message":"provider did not answer"}}"#
                }
                try producer.enqueue(topic: "logs.pay", key: nil, value: Array(value.utf8)) { result in
                    if case .success = result { acked.withLock { $0 += 1 } }
                }
                count += 1
            }
        }
        try waitUntil(timeout: 60, "the events to be acknowledged") { acked.withLock { $0 } == count }
    }

    static func alerts(_ brokers: String) throws -> [[String: Any]] {
        let result = try LogshipBinary.run(["alerts", "--brokers", brokers, "--since", "1h", "--json"])
        return (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    @Test func aSurgeIsAlertedOnceAcrossARestart() throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("detector-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"], partitions: 3}
        services: {pay: {owner: "@pay-oncall"}}
        """.write(to: config, atomically: true, encoding: .utf8)
        let now = Date().timeIntervalSince1970
        let base = Date(timeIntervalSince1970: (now - 3 * 3600) - (now - 3 * 3600).truncatingRemainder(dividingBy: 60))

        // The incident's errors are a new template: new_pattern fires in the first run, and the
        // template goes on in the second, which must not alert it again.
        try Self.produce(minutes: 0..<63, base: base, brokers: server.kafkaBootstrap, newTemplate: true)
        let arguments = ["detector", "--config", config.path, "--poll-interval", "300"]
        let first = try SignalReset.launch(try LogshipBinary.path(), arguments, log: dir.appendingPathComponent("detector-1.log"))
        try waitUntil(timeout: 90, interval: 0.1, "the first alerts") { (try Self.alerts(server.kafkaBootstrap)).count >= 2 }
        #expect(SignalReset.stop(first, grace: 45) == 0)

        try Self.produce(minutes: 63..<90, base: base, brokers: server.kafkaBootstrap, newTemplate: true)
        let second = try SignalReset.launch(try LogshipBinary.path(), arguments, log: dir.appendingPathComponent("detector-2.log"))
        defer { _ = SignalReset.stop(second, grace: 10) }
        try waitUntil(timeout: 90, interval: 0.2, "the resolved alert") {
            try Self.alerts(server.kafkaBootstrap).contains { $0["state"] as? String == "resolved" }
        }
        let alerts = try Self.alerts(server.kafkaBootstrap)
        let summary = alerts.map { "\($0["rule"] as? String ?? "") \($0["state"] as? String ?? "") \($0["severity"] as? String ?? "")" }
        // Critical from its first window (15× the usual errors), delivered once, then resolved;
        // the new template alerted once, before the restart.
        #expect(summary.sorted() == ["error_surge firing critical", "error_surge resolved info", "new_pattern firing warning"],
                "\(summary); log: \((try? String(contentsOf: dir.appendingPathComponent("detector-2.log"), encoding: .utf8)) ?? "")")
        #expect(Set(alerts.compactMap { $0["id"] as? String }).count == alerts.count)
        let context = alerts.first { $0["rule"] as? String == "error_surge" }?["context"] as? [String: Any]
        #expect(context?["owner"] as? String == "@pay-oncall")
        #expect((context?["events"] as? [[String: Any]])?.count == 3)
        let pattern = try #require(alerts.first { $0["rule"] as? String == "new_pattern" })
        #expect((pattern["pattern"] as? [String: Any])?["template"] as? String
                    == "charge <*> failed after <*> ms | UpstreamTimeout: provider did not answer", "\(pattern)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect((pattern["window"] as? [String: Any])?["start"] as? String == formatter.string(from: base.addingTimeInterval(60 * 60)))
        #expect(SignalReset.stop(second, grace: 10) == 0)
        // The positions went with the alerts in the transactions: the group has read everything.
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [server.kafkaBootstrap], properties: ["log_level": "0"]))
        let partitions = try admin.partitions(matching: "^logs\\.pay$")
        let committed = try admin.committedOffsets(group: "logship-detector", partitions: partitions)
        for (tp, range) in try admin.logOffsets(partitions) where range.high > range.low { #expect((committed[tp] ?? nil) == range.high, "\(tp)") }
        // What the models learnt went with them: a committed snapshot of pay in logship.detector.state.
        let state = try admin.partitions(matching: "^logship\\.detector\\.state$")
        var snapshots: [String] = []
        try admin.read(try admin.logOffsets(state).mapValues { $0.low..<$0.high }) { message in
            if let key = message.key { snapshots.append(String(decoding: key, as: UTF8.self)) }
        }
        #expect(Set(snapshots) == ["pay"] && snapshots.count >= 2, "\(snapshots)")
    }

    /// `detect backtest --topic` reads the same incident from Kafka and finds the same alerts.
    @Test func backtestReadsATopicBetweenTwoTimes() throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let now = Date().timeIntervalSince1970
        let base = Date(timeIntervalSince1970: (now - 3 * 3600) - (now - 3 * 3600).truncatingRemainder(dividingBy: 60))
        let before = Date().addingTimeInterval(-1)
        try Self.produce(minutes: 0..<90, base: base, brokers: server.kafkaBootstrap)
        let formatter = ISO8601DateFormatter()
        let result = try LogshipBinary.run(["detect", "backtest", "--topic", "logs\\.pay", "--brokers", server.kafkaBootstrap,
                                            "--from", formatter.string(from: before), "--to", formatter.string(from: Date().addingTimeInterval(60)), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let output = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(output["events"] as? Int == 90 * 300)
        let summary = (output["alerts"] as? [[String: Any]] ?? []).map { "\($0["rule"] as? String ?? "") \($0["state"] as? String ?? "")" }
        #expect(summary == ["error_surge firing", "error_surge resolved"])
        // Every judged window has a score; the incident's first window is the highest.
        let scores = output["scores"] as? [[String: Any]] ?? []
        #expect(scores.count >= 88)
        let top = scores.max { ($0["score"] as? Double ?? 0) < ($1["score"] as? Double ?? 0) }
        #expect((top?["window"] as? [String: Any])?["start"] as? String == formatter.string(from: base.addingTimeInterval(3600))
                .replacingOccurrences(of: "Z", with: ".000Z"))
        // Nothing written before --from is read.
        let empty = try LogshipBinary.run(["detect", "backtest", "--topic", "logs\\.pay", "--brokers", server.kafkaBootstrap,
                                           "--to", formatter.string(from: before), "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(empty.stdout.utf8)) as? [String: Any])?["events"] as? Int == 0)
    }
}
