@testable import Agent
import Foundation
import LogModel
import LogshipConfig
import Testing
import TestSupport

/// The formats fleets write, each from its documented layout (or written by the real program
/// where one is here: util-linux `logger` for syslog), with the fields asserted per line.
@Suite struct SourceFormatTests {
    /// 2026-12-06T04:00:00Z, the "host clock" for year-less formats.
    let now: Int64 = 1_796_529_600_000

    func parser(_ format: RecordParser.Format, zone: String = "UTC") -> RecordParser {
        RecordParser(service: "svc", host: "h", format: format, zone: ZoneRule(named: zone)!)
    }

    /// The event's JSON as the agent ships it, as a dictionary with dotted access.
    func json(_ event: LogEvent) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(event.encoded()))) as? [String: Any] ?? [:]
    }

    func field(_ object: [String: Any], _ path: String) -> Any? {
        var current: Any? = object
        for part in path.split(separator: ".") { current = (current as? [String: Any])?[String(part)] }
        return current
    }

    // MARK: syslog, written by logger

    @Test func syslogFromUtilLinuxLogger() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syslog-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("messages").path
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(try PythonScript.run("syslog_via_logger.py", [file]).utf8)) as? [[String: Any]])
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == manifest.count)
        for format in [RecordParser.Format.syslog, .auto] {
            // logger writes RFC 3164 times in the host's zone: read them in it.
            let parser = RecordParser(service: "svc", host: "h", format: format, zone: ZoneRule(named: "local")!)
            for (line, sent) in zip(lines, manifest) {
                let event = parser.parse(String(line), nowMillis: after)
                let object = json(event)
                let priority = (sent["priority"] as! NSNumber).int64Value
                #expect(event.message == sent["message"] as? String, "\(line)")
                #expect(event.facts?.processName == sent["tag"] as? String)
                #expect(event.facts?.processPID == (sent["pid"] as! NSNumber).int64Value)
                #expect(field(object, "log.syslog.facility.code") as? Int64 == priority / 8)
                #expect(field(object, "log.syslog.severity.code") as? Int64 == priority % 8)
                #expect(event.level == SourceFormats.syslogLevel(priority % 8))
                #expect(event.facts?.syslogHostname?.isEmpty == false)
                // Within the second the message was sent (RFC 3164 has whole seconds, no zone).
                let ms = try #require(Timestamps.epochMillis(of: event.timestamp))
                #expect(ms >= before / 1000 * 1000 && ms <= after, "\(line) -> \(event.timestamp)")
                #expect(!event.tags.contains("unparsed"))
            }
        }
        let levels = lines.map { parser(.syslog).parse(String($0), nowMillis: now).level }
        #expect(levels == [.error, .info, .warn, .debug, .critical])
    }

    @Test func syslogLayoutsWithAndWithoutYear() {
        let p = parser(.syslog, zone: "Asia/Shanghai")
        let a = p.parse("Dec  6 12:00:31 web01 sshd[1234]: Accepted publickey for root", nowMillis: now)
        #expect(a.timestamp == "2026-12-06T04:00:31.000Z")
        #expect(a.facts?.syslogHostname == "web01" && a.facts?.processName == "sshd" && a.facts?.processPID == 1234)
        #expect(a.message == "Accepted publickey for root")
        // A December line read in January belongs to the year before.
        let january: Int64 = 1_799_020_800_000  // 2027-01-04
        #expect(p.parse("Dec 31 23:59:59 web01 cron: x", nowMillis: january).timestamp == "2026-12-31T15:59:59.000Z")
        #expect(p.parse("Dec  6 2025 12:00:00 web01 app: with year", nowMillis: now).timestamp == "2025-12-06T04:00:00.000Z")
        // rsyslog's RSYSLOG_FileFormat / syslog-ng ISO layout keeps its offset.
        let iso = p.parse("2026-12-06T04:00:31.123456+00:00 web01 kernel: oom-killer invoked", nowMillis: now)
        #expect(iso.timestamp == "2026-12-06T04:00:31.123Z" && iso.facts?.processName == "kernel" && iso.message == "oom-killer invoked")
        // RFC 5424 with structured data (escaped bracket inside a value) and a BOM before the message.
        let rfc5424 = p.parse(#"<165>1 2026-12-06T04:00:31.5Z mymachine evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App]x"] "# + "\u{FEFF}An application event", nowMillis: now)
        #expect(rfc5424.message == "An application event" && rfc5424.level == .info)
        #expect(rfc5424.facts?.processName == "evntslog" && rfc5424.facts?.processPID == nil)
        #expect(rfc5424.timestamp == "2026-12-06T04:00:31.500Z")
    }

    /// Lines that start with a time but are none of the formats: plain text with its time and a
    /// level word; not mistaken for syslog (no `prog:` tag) or Java (no `-`/`:` separator).
    @Test func timedPlainLinesKeepTheirTimeAndLevel() {
        let p = parser(.auto)
        let a = p.parse("2026-12-06 04:00:31.123 INFO main started", nowMillis: now)
        #expect(a.timestamp == "2026-12-06T04:00:31.123Z" && a.level == .info && a.facts == nil)
        #expect(a.message == "2026-12-06 04:00:31.123 INFO main started")
        let b = p.parse("2026-12-06 04:00:32 [WARN] disk 91% full", nowMillis: now)
        #expect(b.level == .warn && b.facts?.processName == nil && b.message.hasSuffix("disk 91% full"))
        #expect(parser(.syslog).parse("2026-12-06T04:00:33Z host no tag here", nowMillis: now).tags == ["unparsed"])
    }

    // MARK: Java

    /// Lines made from the documented default layouts of log4j 2 (`%d{yyyy-MM-dd HH:mm:ss.SSS}
    /// [%t] %-5level %logger{36} - %msg%n`), logback (`%d{HH:mm:ss.SSS} [%thread] %-5level
    /// %logger{36} - %msg%n`), Spring Boot 2 and Spring Boot 3.2+, each with a stack trace.
    @Test func javaDefaultLayoutsWithStackTraces() {
        struct Case { var line: String; var level: Level; var logger: String; var thread: String; var pid: Int64?; var message: String; var timestamp: String }
        let zone = "Europe/Berlin"
        let cases = [
            Case(line: "2026-12-06 05:00:31.123 [main] ERROR com.acme.pay.PaymentService - charge failed for order 42",
                 level: .error, logger: "com.acme.pay.PaymentService", thread: "main", pid: nil, message: "charge failed for order 42",
                 timestamp: "2026-12-06T04:00:31.123Z"),
            Case(line: "05:00:32.456 [http-nio-8080-exec-1] WARN  c.a.p.web.Controller - slow request",
                 level: .warn, logger: "c.a.p.web.Controller", thread: "http-nio-8080-exec-1", pid: nil, message: "slow request",
                 timestamp: "2026-12-06T04:00:32.456Z"),
            Case(line: "2026-12-06 05:00:33.789  INFO 12345 --- [           main] o.s.b.w.embedded.tomcat.TomcatWebServer  : Tomcat started on port(s): 8080 (http)",
                 level: .info, logger: "o.s.b.w.embedded.tomcat.TomcatWebServer", thread: "main", pid: 12345,
                 message: "Tomcat started on port(s): 8080 (http)", timestamp: "2026-12-06T04:00:33.789Z"),
            Case(line: "2026-12-06T05:00:34.000+01:00 ERROR 12345 --- [myapp] [nio-8080-exec-2] c.a.OrderController                     : order failed",
                 level: .error, logger: "c.a.OrderController", thread: "nio-8080-exec-2", pid: 12345, message: "order failed",
                 timestamp: "2026-12-06T04:00:34.000Z"),
        ]
        let trace = """
        java.lang.IllegalStateException: card declined
        \tat com.acme.pay.PaymentService.charge(PaymentService.java:42)
        \tat com.acme.pay.Controller.post(Controller.java:17)
        Caused by: java.net.SocketTimeoutException: Read timed out
        \t... 12 more
        """
        var corpus = ""
        for c in cases { corpus += c.line + "\n" + trace + "\n" }
        // Aggregated by the java multiline preset, then parsed, as the agent does.
        var aggregator = MultilineAggregator(rule: .java)
        var records: [Record] = []
        var offset: Int64 = 0
        for line in corpus.split(separator: "\n") {
            if let record = aggregator.add(String(line), offset: offset, endOffset: offset + 1, now: 0) { records.append(record) }
            offset += 1
        }
        if let last = aggregator.flush(now: 0, force: true) { records.append(last) }
        #expect(records.count == cases.count)
        for format in [RecordParser.Format.java, .auto] {
            let p = parser(format, zone: zone)
            for (record, c) in zip(records, cases) {
                let event = p.parse(record.text, nowMillis: now)
                #expect(event.level == c.level, "\(c.line)")
                #expect(event.message == c.message)
                #expect(event.timestamp == c.timestamp)
                #expect(event.errorType == "java.lang.IllegalStateException" && event.errorMessage == "card declined")
                #expect(event.stackTrace == trace)
                if format == .java {
                    #expect(event.logger == c.logger)
                    #expect(event.facts?.threadName == c.thread && event.facts?.processPID == c.pid)
                }
            }
        }
    }

    // MARK: web servers

    /// An nginx-style corpus from the documented `combined` layout (with `$request_time`
    /// appended, as setups do), Apache `common`, nginx's error log and Apache 2.4's error log.
    @Test func nginxAndApacheAccessAndErrorLogs() {
        let methods = ["GET", "POST", "PUT", "DELETE"]
        let statuses = [200, 201, 304, 404, 499, 502]
        var lines: [(String, method: String, path: String, query: String?, status: Int, bytes: Int64, seconds: Double?)] = []
        for k in 0..<24 {
            let method = methods[k % 4], status = statuses[k % 6], bytes = Int64(100 + k * 37)
            let path = "/api/v\(k % 3)/orders/\(1000 + k)"
            let query = k % 2 == 0 ? "page=\(k)&sort=desc" : nil
            let target = path + (query.map { "?" + $0 } ?? "")
            let time = "06/Dec/2026:05:\(String(format: "%02d", k)):07 +0100"
            if k % 3 == 0 {
                lines.append(("127.0.0.\(k) - - [\(time)] \"\(method) \(target) HTTP/1.1\" \(status) \(bytes)", method, path, query, status, bytes, nil))
            } else {
                let seconds = Double(k) * 0.125
                lines.append(("10.0.0.\(k) - alice [\(time)] \"\(method) \(target) HTTP/2.0\" \(status) \(bytes) \"https://shop.example/cart\" \"Mozilla/5.0 (X11; Linux x86_64) \\\"quoted\\\"\" \(String(format: "%.3f", seconds))",
                              method, path, query, status, bytes, seconds))
            }
        }
        for format in [RecordParser.Format.nginx, .apache, .auto] {
            let p = parser(format, zone: "Asia/Shanghai")
            for (k, expected) in lines.enumerated() {
                let event = p.parse(expected.0, nowMillis: now)
                #expect(event.timestamp == "2026-12-06T04:\(String(format: "%02d", k)):07.000Z", "\(expected.0)")
                #expect(event.httpMethod == expected.method && event.urlPath == expected.path && event.facts?.urlQuery == expected.query)
                #expect(event.httpStatus == expected.status && event.facts?.responseBytes == expected.bytes)
                #expect(event.level == (expected.status >= 500 ? .error : expected.status >= 400 ? .warn : .info))
                #expect(event.facts?.clientAddress == expected.0.split(separator: " ").first.map(String.init))
                #expect(event.durationNs == expected.seconds.map { Int64($0 * 1e9) })
                if expected.seconds != nil {
                    #expect(event.facts?.userName == "alice" && event.facts?.referrer == "https://shop.example/cart")
                    #expect(event.facts?.userAgent == "Mozilla/5.0 (X11; Linux x86_64) \"quoted\"" && event.facts?.httpVersion == "2.0")
                }
            }
        }
        let nginxError = parser(.nginx, zone: "Asia/Shanghai").parse(
            #"2026/12/06 12:00:31 [error] 1234#5678: *9 upstream timed out (110: Connection timed out), client: 192.0.2.7, server: shop, request: "POST /api/pay?x=1 HTTP/1.1", upstream: "http://127.0.0.1:8080/api/pay""#, nowMillis: now)
        #expect(nginxError.timestamp == "2026-12-06T04:00:31.000Z" && nginxError.level == .error)
        #expect(nginxError.facts?.processPID == 1234 && nginxError.facts?.threadID == 5678 && nginxError.facts?.clientAddress == "192.0.2.7")
        #expect(nginxError.httpMethod == "POST" && nginxError.urlPath == "/api/pay")
        #expect(nginxError.message.hasPrefix("upstream timed out"))
        let apacheError = parser(.apache, zone: "UTC").parse(
            "[Sun Dec 06 04:00:31.123456 2026] [proxy_http:warn] [pid 4321:tid 140234] [client 192.0.2.9:51234] AH01110: error reading response", nowMillis: now)
        #expect(apacheError.timestamp == "2026-12-06T04:00:31.123Z" && apacheError.level == .warn)
        #expect(apacheError.facts?.processPID == 4321 && apacheError.facts?.threadID == 140234 && apacheError.facts?.clientAddress == "192.0.2.9")
        #expect(apacheError.message == "AH01110: error reading response")
        let apache22 = parser(.auto).parse("[Sun Dec 06 04:00:31 2026] [error] [client 192.0.2.1] File does not exist: /var/www/favicon.ico", nowMillis: now)
        #expect(apache22.level == .error && apache22.facts?.clientAddress == "192.0.2.1" && apache22.message.hasPrefix("File does not exist"))
    }

    // MARK: logfmt, klog

    @Test func logfmtAndKlog() {
        let logfmt = parser(.logfmt, zone: "Asia/Shanghai").parse(
            #"time=2026-12-06T12:00:31.250+08:00 level=warn msg="slow query \"orders\"" caller=db/query.go:88 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 status=504 duration_ms=1500 table=orders"#, nowMillis: now)
        #expect(logfmt.timestamp == "2026-12-06T04:00:31.250Z" && logfmt.level == .warn)
        #expect(logfmt.message == #"slow query "orders""#)
        #expect(logfmt.facts?.originFile == "db/query.go" && logfmt.facts?.originLine == 88)
        #expect(logfmt.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && logfmt.httpStatus == 504 && logfmt.durationNs == 1_500_000_000)
        #expect(logfmt.labels.contains { $0 == ("table", "orders") })
        #expect(parser(.auto).parse("ts=2026-12-06T04:00:31Z lvl=error msg=boom", nowMillis: now).level == .error)

        for format in [RecordParser.Format.klog, .auto] {
            let klog = parser(format, zone: "UTC").parse("E1206 04:00:31.123456    4242 controller.go:117] failed to sync pod default/web-0: timeout", nowMillis: now)
            #expect(klog.timestamp == "2026-12-06T04:00:31.123Z" && klog.level == .error)
            #expect(klog.facts?.threadID == 4242 && klog.facts?.originFile == "controller.go" && klog.facts?.originLine == 117)
            #expect(klog.message == "failed to sync pod default/web-0: timeout")
        }
        #expect(parser(.klog).parse("W0102 15:04:05.000000 1 a.go:1] x", nowMillis: now).level == .warn)
    }

    // MARK: containers

    @Test func criLinesJoinedWithKubernetesMetadataFromThePath() throws {
        let path = "/var/log/containers/web-7d9f8b-x2x4q_shop_api-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log"
        var input = LogshipConfiguration.Input(service: "k8s", paths: ["/var/log/containers/*.log"])
        input.format = .cri
        input.timezone = "UTC"
        let pipeline = try InputPipeline(input: input, host: "node-1", allowDebug: true, maskPatterns: [], pythonFormat: nil)
        let lines = [
            "2026-12-06T04:00:31.000000001Z stdout P 2026-12-06 04:00:30,500 ERROR [api] first half ",
            "2026-12-06T04:00:31.000000002Z stdout P and the middle ",
            "2026-12-06T04:00:31.000000003Z stdout F and the end",
            "2026-12-06T04:00:32.000000000Z stderr F {\"level\":\"warn\",\"msg\":\"json inside\",\"status\":503}",
            "2026-12-06T04:00:33.000000000Z stdout F plain text without time",
        ]
        var aggregator = pipeline.makeAggregator()
        var records: [Record] = []
        var offset: Int64 = 0
        for line in lines {
            if let r = aggregator.add(line, offset: offset, endOffset: offset + Int64(line.utf8.count) + 1, now: 0) { records.append(r) }
            offset += Int64(line.utf8.count) + 1
        }
        if let r = aggregator.flush(now: 0, force: true) { records.append(r) }
        #expect(records.count == 3)
        let stats = AgentStats()
        let out = OutputBuffer()
        var events: [[String: Any]] = []
        for record in records {
            guard case .ship = pipeline.process(record, fileIdentity: "f", filePath: path, nowMillis: now, stats: stats, into: out) else { continue }
            events.append(try #require(try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any]))
        }
        #expect(events.count == 3)
        #expect(events[0]["message"] as? String == "first half and the middle and the end")
        #expect(events[0]["@timestamp"] as? String == "2026-12-06T04:00:30.500Z")
        #expect(field(events[0], "log.level") as? String == "ERROR")
        #expect(field(events[1], "http.response.status_code") as? Int == 503 && field(events[1], "container.stream") as? String == "stderr")
        #expect(events[2]["@timestamp"] as? String == "2026-12-06T04:00:33.000Z", "the runtime's time when the text has none")
        for event in events {
            #expect(field(event, "kubernetes.namespace") as? String == "shop")
            #expect(field(event, "kubernetes.pod.name") as? String == "web-7d9f8b-x2x4q")
            #expect(field(event, "kubernetes.container.name") as? String == "api")
            #expect((field(event, "container.id") as? String)?.count == 64)
        }
        let pods = try #require(SourceFormats.kubernetesFacts(path: "/var/log/pods/shop_web-0_5f1c2b9a-1111-2222-3333-444455556666/api/0.log"))
        #expect(pods.kubernetesNamespace == "shop" && pods.kubernetesPod == "web-0" && pods.kubernetesContainer == "api")
        #expect(pods.kubernetesPodUID == "5f1c2b9a-1111-2222-3333-444455556666")
        #expect(SourceFormats.kubernetesFacts(path: "/var/log/app/web.log") == nil)
    }

    @Test func dockerJSONFileWithSplitLines() {
        var aggregator = MultilineAggregator(rule: .container)
        let lines = [
            #"{"log":"2026-12-06 04:00:31,000 INFO [web] a long line that the runtime ","stream":"stdout","time":"2026-12-06T04:00:31.1Z"}"#,
            #"{"log":"split in two\n","stream":"stdout","time":"2026-12-06T04:00:31.2Z"}"#,
            #"{"log":"next\n","stream":"stderr","time":"2026-12-06T04:00:32.5Z"}"#,
        ]
        var records: [Record] = []
        for line in lines { if let r = aggregator.add(line, offset: 0, endOffset: 1, now: 0) { records.append(r) } }
        if let r = aggregator.flush(now: 0, force: true) { records.append(r) }
        #expect(records.count == 2)
        for format in [RecordParser.Format.docker, .auto] {
            let first = parser(format).parse(records[0].text, nowMillis: now)
            #expect(first.message == "a long line that the runtime split in two" && first.level == .info && first.logger == "web")
            #expect(first.facts?.containerStream == "stdout")
            let second = parser(format).parse(records[1].text, nowMillis: now)
            #expect(second.message == "next" && second.timestamp == "2026-12-06T04:00:32.500Z" && second.facts?.containerStream == "stderr")
        }
    }

    // MARK: what a format cannot read

    @Test func aLineTheFormatCannotReadIsShippedPlainFlaggedAndCounted() throws {
        var input = LogshipConfiguration.Input(service: "gw", paths: ["/tmp/gw.log"])
        input.format = .nginx
        let pipeline = try InputPipeline(input: input, host: "h", allowDebug: true, maskPatterns: [], pythonFormat: nil)
        let stats = AgentStats()
        let out = OutputBuffer()
        let line = "nginx: [emerg] unknown directive \"proxy_pas\" in /etc/nginx/conf.d/shop.conf:12"
        let record = Record(bytes: Array(line.utf8), offset: 0, endOffset: 80, tags: [])
        guard case .ship = pipeline.process(record, fileIdentity: "f", filePath: "/tmp/gw.log", nowMillis: now, stats: stats, into: out) else {
            Issue.record("an unreadable line was dropped"); return
        }
        let event = try #require(try JSONSerialization.jsonObject(with: Data(out.bytes)) as? [String: Any])
        #expect(event["message"] as? String == line)
        #expect(event["tags"] as? [String] == ["unparsed"])
        #expect(stats.snapshot.unparsedRecords == 1)
        // auto never flags: plain text is one of its formats.
        #expect(!parser(.auto).parse(line, nowMillis: now).tags.contains("unparsed"))
    }

    // MARK: file selection

    @Test func recursiveGlobsAndExcludes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("glob-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        for relative in ["a.log", "x/b.log", "x/y/c.log", "x/y/c.log.1.gz", "x/y/d.log.zst", "x/skip.log", "x/y/e.txt"] {
            let url = root.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x\n".utf8).write(to: url)
        }
        let found = Glob.expand(root.path + "/**/*.log*").map { String($0.dropFirst(root.path.count + 1)) }
        #expect(Set(found) == ["a.log", "x/b.log", "x/y/c.log", "x/y/c.log.1.gz", "x/y/d.log.zst", "x/skip.log"])
        let kept = found.filter { !Glob.excluded(root.path + "/" + $0, by: ["skip.*"]) }
        #expect(Set(kept) == ["a.log", "x/b.log", "x/y/c.log"])
        #expect(Glob.matches(root.path + "/**/*.log", root.path + "/a.log"))
        #expect(Glob.matches(root.path + "/**/*.log", root.path + "/x/y/c.log"))
        #expect(!Glob.matches(root.path + "/*.log", root.path + "/x/b.log"))
    }
}
