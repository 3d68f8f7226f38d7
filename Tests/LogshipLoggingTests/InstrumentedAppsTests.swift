import Foundation
import Testing
import TestSupport

/// A real Flask app and a real FastAPI app, instrumented with clients/python, called with a
/// `traceparent`: the agent ships their log files, the indexer indexes them, and in
/// Elasticsearch every event of the requests carries the header's trace id; the exception is
/// one event with its traceback; the password is masked; `logship trace` shows it all.
@Suite(.serialized) struct InstrumentedAppsTests {
    @Test func flaskAndFastAPIRequestsArriveUnderTheCallersTrace() throws {
        let noida = try NoidaDB.start()
        defer { noida.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("apps-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let environment = ["PYTHONPATH": root.appendingPathComponent("clients/python").path]

        var apps: [(kind: String, port: Int, process: Process)] = []
        defer { for app in apps { SignalReset.stop(app.process, grace: nil) } }
        for kind in ["flask", "fastapi"] {
            let port = try FreePort.next()
            let process = try SignalReset.launch("/usr/bin/env", ["python3", PythonScript.path("instrumented_app.py"), kind, String(port),
                                                                  dir.appendingPathComponent("\(kind).log").path],
                                                 environment: environment, log: dir.appendingPathComponent("\(kind)-stderr.log"))
            apps.append((kind, port, process))
        }
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(noida.kafkaBootstrap)"], partitions: 2}
        elasticsearch: {url: "\(noida.elasticsearchURL)"}
        agent:
          data_dir: \(dir.appendingPathComponent("agent").path)
          inputs:
            - {service: shop-flask, paths: ["\(dir.path)/flask.log"], format: json}
            - {service: shop-fastapi, paths: ["\(dir.path)/fastapi.log"], format: json}
        indexer: {flush_interval: 200ms}
        """.write(to: config, atomically: true, encoding: .utf8)
        let agent = RoleProcess(["agent", "--config", config.path], log: dir.appendingPathComponent("agent.log"))
        let indexer = RoleProcess(["indexer", "--config", config.path], log: dir.appendingPathComponent("indexer.log"))
        try agent.start()
        try indexer.start()
        defer { _ = agent.terminate(); _ = indexer.terminate() }

        let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        for app in apps {
            for path in ["/checkout", "/fail"] {
                var answer: ProcessResult?
                try waitUntil(timeout: 60, interval: 0.3, "\(app.kind) to answer \(path)") {
                    answer = try Subprocess.run("curl", ["-s", "-i", "-H", "traceparent: 00-\(trace)-00f067aa0ba902b7-01",
                                                         "http://127.0.0.1:\(app.port)\(path)"], timeout: 10)
                    return answer?.stdout.hasPrefix("HTTP/") == true
                }
                #expect(answer?.stdout.lowercased().contains("traceparent: 00-\(trace)-") == true, "\(app.kind) answers with the request's span")
            }
        }

        var events: [[String: Any]] = []
        try waitUntil(timeout: 120, interval: 0.5, "the 8 events of the trace to be searchable") {
            let result = try LogshipBinary.run(["trace", trace, "--es-url", noida.elasticsearchURL, "--json"])
            events = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]) ?? []
            return events.count >= 8
        }
        #expect(events.count == 8, "4 events per app, each once")
        func field(_ event: [String: Any], _ path: String) -> Any? {
            path.split(separator: ".").reduce(event as Any?) { ($0 as? [String: Any])?[String($1)] }
        }
        for kind in ["flask", "fastapi"] {
            let mine = events.filter { field($0, "service.name") as? String == "shop-\(kind)" }
            #expect(mine.compactMap { $0["message"] as? String }.sorted()
                    == ["charge failed", "checkout started", "login user=bob password=[MASKED]", "payment slow"], "\(kind)")
            #expect(mine.allSatisfy { field($0, "trace.id") as? String == trace && (field($0, "span.id") as? String)?.count == 16 })
            #expect(mine.allSatisfy { field($0, "log.logger") as? String == "shop.\(kind)" })
            let failure = try #require(mine.first { $0["message"] as? String == "charge failed" })
            #expect(field(failure, "log.level") as? String == "ERROR")
            #expect(field(failure, "error.type") as? String == "ValueError")
            let stack = field(failure, "error.stack_trace") as? String ?? ""
            #expect(stack.hasPrefix("Traceback (most recent call last):") && stack.contains("raise ValueError(\"card declined\")"), "\(stack)")
            let slow = try #require(mine.first { $0["message"] as? String == "payment slow" })
            #expect(field(slow, "event.duration") as? Int == 1_250_000_000)
        }
        let everything = try LogshipBinary.run(["search", "hunter2", "--es-url", noida.elasticsearchURL, "--json"])
        let leaked = try JSONSerialization.jsonObject(with: Data(everything.stdout.utf8)) as? [Any]
        #expect(everything.status == 0 && leaked?.isEmpty == true, "the password is nowhere in Elasticsearch: \(everything.stdout)")
        let text = try LogshipBinary.run(["trace", trace, "--es-url", noida.elasticsearchURL])
        #expect(text.status == 0 && text.stdout.contains("shop-flask") && text.stdout.contains("shop-fastapi")
                && text.stdout.contains("ValueError: card declined"), "\(text.stdout)")
    }
}
