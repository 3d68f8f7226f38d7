import ElasticClient
import Foundation
import LogModel
import Testing
import TestSupport

/// `logship errors | slow | trace | search` against noida-db holding known events; every figure
/// is computed again here, independently, from the events the test wrote.
@Suite(.serialized) struct InvestigateTests {
    struct Event {
        var service: String
        var atMs: Int64
        var level: String
        var message: String
        var path: String? = nil
        var status: Int? = nil
        var durationMs: Int? = nil
        var trace: String? = nil
        var span: String? = nil
        var stack: String? = nil

        var json: JSONValue {
            var doc: [String: JSONValue] = [
                "@timestamp": .string(Timestamps.format(epochMillis: atMs)), "message": .string(message),
                "service": ["name": .string(service)], "log": ["level": .string(level)],
                "event": .object(["id": .string(UUID().uuidString.lowercased())].merging(durationMs.map { ["duration": .number(Double($0) * 1_000_000)] } ?? [:]) { a, _ in a }),
            ]
            if let path { doc["url"] = ["path": .string(path)] }
            if let status { doc["http"] = ["response": ["status_code": .number(Double(status))]] }
            if let trace { doc["trace"] = ["id": .string(trace)] }
            if let span { doc["span"] = ["id": .string(span)] }
            if let stack { doc["error"] = ["type": "ValueError", "message": "card declined", "stack_trace": .string(stack)] }
            return .object(doc)
        }
    }

    static func index(_ events: [Event], _ es: ElasticClient) throws {
        let items = try events.map { event in
            BulkItem(index: "logs-\(event.service)-\(Timestamps.format(epochMillis: event.atMs).prefix(10).replacingOccurrences(of: "-", with: "."))",
                     id: nil, document: Array(try JSONEncoder().encode(event.json)))
        }
        for chunk in stride(from: 0, to: items.count, by: 2_000) {
            let results = try es.bulk(Array(items[chunk..<min(chunk + 2_000, items.count)]))
            #expect(results.allSatisfy { $0.outcome == .created })
        }
        try es.refresh("logs-*")
    }

    static func json(_ arguments: [String]) throws -> Any {
        let result = try LogshipBinary.run(arguments + ["--json"])
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    static func nearestRank(_ values: [Int], _ p: Double) -> Double {
        let sorted = values.sorted()
        return Double(sorted[Int((Double(sorted.count) * p / 100).rounded(.up)) - 1])
    }

    @Test func boardSlowPathsTraceAndSearchMatchTheData() throws {
        let noida = try NoidaDB.start(services: ["elasticsearch"])
        defer { noida.destroy() }
        let es = try ElasticClient(ElasticConfiguration(url: noida.elasticsearchURL))
        try es.putIndexTemplate(IndexTemplate.name, IndexTemplate.logs())
        let now = Int64(Date().timeIntervalSince1970 * 1000), minute: Int64 = 60_000
        var rng = SystemRandomNumberGenerator()
        var events: [Event] = []
        // Two hours of four services; error shares differ per service and period.
        let shares: [String: (previous: Int, current: Int)] = ["gateway": (2, 4), "orders": (5, 5), "payment": (1, 12), "inventory": (0, 3)]
        let paths = ["/api/pay", "/api/orders", "/api/cart"]
        for (service, share) in shares {
            for i in 0..<600 {
                let current = i >= 300
                let at = now - (current ? 59 : 119) * minute + Int64(i % 300) * 11_000
                let error = Int.random(in: 0..<100, using: &rng) < (current ? share.current : share.previous)
                let duration = Int.random(in: 5...3_000, using: &rng)
                let status = error ? [500, 503].randomElement(using: &rng)! : 200
                events.append(Event(service: service, atMs: at, level: error ? "ERROR" : (i % 7 == 0 ? "WARN" : "INFO"),
                                    message: error ? "request failed: upstream timeout" : "request ok",
                                    path: paths.randomElement(using: &rng)!, status: status, durationMs: duration))
            }
        }
        // One trace across the four services, with a traceback in payment.
        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        let stack = "Traceback (most recent call last):\n  File \"/app/pay.py\", line 42, in charge\n    raise ValueError(\"card declined\")\nValueError: card declined"
        let t = now - 30 * minute
        let traced = [
            Event(service: "gateway", atMs: t, level: "INFO", message: "POST /api/checkout received", trace: trace, span: "a1"),
            Event(service: "orders", atMs: t + 20, level: "INFO", message: "order 17 created", trace: trace, span: "b2"),
            Event(service: "inventory", atMs: t + 45, level: "INFO", message: "stock reserved", durationMs: 15, trace: trace, span: "c3"),
            Event(service: "payment", atMs: t + 90, level: "ERROR", message: "charge failed", durationMs: 40, trace: trace, span: "d4", stack: stack),
            Event(service: "orders", atMs: t + 110, level: "WARN", message: "order 17 cancelled", trace: trace, span: "b2"),
            Event(service: "gateway", atMs: t + 130, level: "ERROR", message: "POST /api/checkout 502", durationMs: 130, trace: trace, span: "a1"),
        ]
        try Self.index(events + traced, es)
        let all = events + traced
        let base = ["--es-url", noida.elasticsearchURL]

        // errors: per service, current hour against the hour before.
        let board = try #require(try Self.json(["errors", "--since", "1h"] + base) as? [[String: Any]])
        #expect(board.count == 4)
        for row in board {
            let service = try #require(row["service"] as? String)
            let current = all.filter { $0.service == service && $0.atMs >= now - 60 * minute }
            let previous = all.filter { $0.service == service && $0.atMs < now - 60 * minute && $0.atMs >= now - 120 * minute }
            let errors = current.filter { $0.level == "ERROR" }.count, previousErrors = previous.filter { $0.level == "ERROR" }.count
            let pct = Double(errors) / Double(current.count) * 100, previousPct = Double(previousErrors) / Double(previous.count) * 100
            #expect(row["events"] as? Int == current.count && row["errors"] as? Int == errors, "\(service)")
            #expect(abs((row["error_pct"] as? Double ?? -1) - pct) < 1e-9, "\(service) error %")
            if previousErrors == 0 {
                #expect(row["change_pct"] is NSNull, "\(service): no errors before, the change is 'new'")
            } else {
                #expect(abs((row["change_pct"] as? Double ?? -1) - (pct - previousPct) / previousPct * 100) < 1e-9, "\(service) change")
            }
        }
        let pcts = board.compactMap { $0["error_pct"] as? Double }
        #expect(pcts == pcts.sorted(by: >), "worst first")
        let text = try LogshipBinary.run(["errors", "--since", "1h"] + base)
        #expect(text.status == 0 && text.stdout.contains("SERVICE") && !text.stdout.contains("\u{1B}["), "plain text when piped")

        // slow: ≥ 1 s, grouped by path and status, p50/p95 by nearest rank.
        let slow = try #require(try Self.json(["slow", "--min-duration", "1s", "--since", "2h", "--top", "100"] + base) as? [[String: Any]])
        let slowEvents = all.filter { ($0.durationMs ?? 0) >= 1_000 && $0.path != nil }
        let groups = Dictionary(grouping: slowEvents) { "\($0.path!) \($0.status!)" }
        #expect(slow.count == groups.count)
        for row in slow {
            let key = "\(row["path"] as? String ?? "") \(row["status"] as? Int ?? 0)"
            let durations = try #require(groups[key]?.map { $0.durationMs! }, "\(key)")
            #expect(row["count"] as? Int == durations.count, "\(key) count")
            #expect(row["p50_ms"] as? Double == Self.nearestRank(durations, 50), "\(key) p50")
            #expect(row["p95_ms"] as? Double == Self.nearestRank(durations, 95), "\(key) p95")
            #expect(row["max_ms"] as? Double == Double(durations.max()!), "\(key) max")
        }
        let failingFirst = slow.map { ($0["status"] as? Int ?? 0) >= 500 }
        #expect(failingFirst == failingFirst.sorted { $0 && !$1 }, "failing groups first")

        // trace: every event, in time order, with the traceback.
        let traceJSON = try #require(try Self.json(["trace", trace] + base) as? [[String: Any]])
        #expect(traceJSON.compactMap { $0["message"] as? String } == traced.map(\.message))
        let traceText = try LogshipBinary.run(["trace", trace] + base)
        #expect(traceText.stdout.contains("6 events, 4 services, 130 ms"), "\(traceText.stdout)")
        let order = traced.map { traceText.stdout.range(of: $0.message)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order.compactMap { $0 } == order.compactMap { $0 }.sorted(), "in time order")
        #expect(traceText.stdout.contains("waterfall:") && traceText.stdout.contains("payment d4"))
        #expect(traceText.stdout.contains("raise ValueError(\"card declined\")"), "the traceback is printed")
        let missing = try LogshipBinary.run(["trace", "0000000000000000000000000000dead"] + base)
        #expect(missing.status == 1 && missing.stderr.contains("no event with trace.id"))

        // search: query string, service, level and period combine.
        let found = try #require(try Self.json(["search", "timeout", "--service", "payment", "--level", "error", "--since", "1h", "--limit", "1000"] + base) as? [[String: Any]])
        let expected = all.filter { $0.service == "payment" && $0.level == "ERROR" && $0.message.contains("timeout") && $0.atMs >= now - 60 * minute }
        #expect(found.count == expected.count && !expected.isEmpty)
        #expect(found.allSatisfy { ($0["service"] as? [String: Any])?["name"] as? String == "payment" })
        let none = try LogshipBinary.run(["search", "nosuchwordanywhere"] + base)
        #expect(none.status == 0 && none.stdout.contains("no event matches"))

        // --follow prints a document indexed after it started.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("follow-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let follower = RoleProcess(["search", "needle", "--follow", "--interval", "0.3"] + base, log: dir.appendingPathComponent("follow.log"))
        try follower.start()
        defer { _ = follower.terminate(timeout: 5) }
        try waitUntil(timeout: 30, "the follower to print nothing yet but run") { follower.isRunning }
        try Self.index([Event(service: "orders", atMs: Int64(Date().timeIntervalSince1970 * 1000), level: "WARN", message: "needle in the haystack")], es)
        try waitUntil(timeout: 30, interval: 0.2, "the new document to be printed") { follower.log.contains("needle in the haystack") }
        #expect(follower.log.components(separatedBy: "needle in the haystack").count == 2, "printed once")
    }
}
