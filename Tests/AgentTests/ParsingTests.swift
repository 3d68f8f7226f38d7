@testable import Agent
import Foundation
import LogModel
import LogshipConfig
import Testing

@Suite struct ParsingTests {
    let python = RecordParser(service: "payment", host: "h1", format: .auto, staticFields: ["env": "prod"])

    @Test func pythonLoggingTextWithRequestFields() {
        let event = python.parse(
            "2026-11-25 10:00:00,123 WARNING [payment.api] charge slow trace_id=4BF92F3577B34DA6A3CE929D0E0E4736 span_id=00f067aa0ba902b7 POST /api/charge?x=1 status=502 duration_ms=1500",
            nowMillis: 0)
        #expect(event.timestamp == "2026-11-25T10:00:00.123Z")
        #expect(event.level == .warn)
        #expect(event.logger == "payment.api")
        #expect(event.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(event.spanID == "00f067aa0ba902b7")
        #expect(event.httpMethod == "POST" && event.urlPath == "/api/charge")
        #expect(event.httpStatus == 502)
        #expect(event.durationNs == 1_500_000_000)
        #expect(event.labels.map { "\($0.0)=\($0.1)" } == ["env=prod"])
        #expect(event.hostName == "h1")
    }

    @Test func customPythonFormatWithPaddingAndProcess() {
        let parser = RecordParser(service: "s", host: "h", format: .python,
                                  pythonFormat: PythonLogFormat("%(asctime)s | %(levelname)-8s | %(process)d | %(name)s: %(message)s"))
        let event = parser.parse("2026-01-02T03:04:05.678+02:00 | ERROR    | 4242 | worker.jobs: job failed", nowMillis: 0)
        #expect(event.timestamp == "2026-01-02T01:04:05.678Z")
        #expect(event.level == .error)
        #expect(event.logger == "worker.jobs")
        #expect(event.message == "job failed")
    }

    @Test func tracebackBecomesStackTraceWithTypeAndMessage() {
        let record = """
        2026-11-25 10:00:00,123 ERROR [payment] charge failed
        Traceback (most recent call last):
          File "app.py", line 3, in charge
            total = price / qty
                    ~~~~~~^~~~~
        ZeroDivisionError: division by zero
        """
        let event = python.parse(record, nowMillis: 0)
        #expect(event.message == "charge failed")
        #expect(event.errorType == "ZeroDivisionError")
        #expect(event.errorMessage == "division by zero")
        #expect(event.stackTrace?.hasPrefix("Traceback (most recent call last):") == true)
        #expect(event.stackTrace?.contains("~~~~~~^~~~~") == true)
    }

    @Test func structlogJSON() {
        let line = #"{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "status": 201, "duration_ms": 5, "event": "order placed", "level": "info", "logger": "orders", "timestamp": "2026-11-25T16:46:44.966177Z", "user_id": 42}"#
        let event = python.parse(line, nowMillis: 0)
        #expect(event.message == "order placed")
        #expect(event.level == .info)
        #expect(event.logger == "orders")
        #expect(event.timestamp == "2026-11-25T16:46:44.966Z")
        #expect(event.traceID == "4bf92f3577b34da6a3ce929d0e0e4736" && event.spanID == "00f067aa0ba902b7")
        #expect(event.httpStatus == 201 && event.durationNs == 5_000_000)
        #expect(event.labels.contains { $0.0 == "user_id" && $0.1 == "42" })
    }

    @Test func pythonJSONLoggerWithException() {
        let line = #"{"asctime": "2026-11-25 16:46:44,969", "levelname": "ERROR", "name": "inv", "message": "bad", "exc_info": "Traceback (most recent call last):\n  File \"x.py\", line 16, in <module>\nZeroDivisionError: division by zero"}"#
        let event = python.parse(line, nowMillis: 0)
        #expect(event.level == .error && event.logger == "inv" && event.message == "bad")
        #expect(event.timestamp == "2026-11-25T16:46:44.969Z")
        #expect(event.errorType == "ZeroDivisionError")
        #expect(event.stackTrace?.contains("line 16") == true)
    }

    @Test func openTelemetryStyleRecord() {
        let line = #"{"timeUnixNano": 1764064004123000000, "severity_text": "Error", "body": "db timeout", "traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "resource": {"service.name": "payment"}, "attributes": {"db.system": "postgresql"}}"#
        let event = python.parse(line, nowMillis: 0)
        #expect(event.message == "db timeout" && event.level == .error)
        #expect(event.timestamp == "2025-11-25T09:46:44.123Z")
        #expect(event.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(event.labels.contains { $0.0 == "db.system" && $0.1 == "postgresql" })
    }

    @Test func plainTextFallsBackToIngestionTime() {
        let event = python.parse("server listening on :8080", nowMillis: 1_764_064_004_000)
        #expect(event.message == "server listening on :8080")
        #expect(event.timestamp == "2025-11-25T09:46:44.000Z")
        #expect(event.level == nil)
    }

    @Test func levelsNormalise() {
        #expect(Level(normalising: "warning") == .warn)
        #expect(Level(normalising: "FATAL") == .critical)
        #expect(Level(normalising: "Information") == .info)
        #expect(Level(normalising: "verbose") == nil)
    }

    @Test func timestampsAcrossZonesAndCalendarEdges() {
        #expect(Timestamps.normalise("2024-02-29 23:59:59,999") == "2024-02-29T23:59:59.999Z")
        #expect(Timestamps.normalise("2024-03-01T00:30:00-01:00") == "2024-03-01T01:30:00.000Z")
        #expect(Timestamps.normalise("2024-01-01T00:30:00+0100") == "2023-12-31T23:30:00.000Z")
        #expect(Timestamps.normalise("not a time at all, really") == nil)
        #expect(Timestamps.format(epochMillis: 0) == "1970-01-01T00:00:00.000Z")
    }

    @Test func eventIDIsStableAndDistinct() {
        let a = EventID.make(host: "h1", fileIdentity: "abc", offset: 100)
        #expect(a == EventID.make(host: "h1", fileIdentity: "abc", offset: 100))
        #expect(a != EventID.make(host: "h1", fileIdentity: "abc", offset: 101))
        #expect(a != EventID.make(host: "h2", fileIdentity: "abc", offset: 100))
        #expect(a.count == 32 && a.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        // Pinned: a change of the hash would re-id every event already indexed.
        #expect(a == "7e4f82002b3972e149b176677d949971")  // FNV-1a, checked with an independent Python computation
    }

    @Test(arguments: [
        ("4BF92F3577B34DA6A3CE929D0E0E4736", 32, true), ("4bf92f3577b34da6a3ce929d0e0e4736", 32, true),
        ("00000000000000000000000000000000", 32, false), ("4bf92f3577b34da6a3ce929d0e0e473", 32, false),
        ("4bf92f3577b34da6a3ce929d0e0e473g", 32, false), ("4bf92f3577b34da6a3ce929d0e0e473G", 32, false),
        ("4bf92f3577b34da6a3ce929d0e0e473@", 32, false), ("4bf92f3577b34da6a3ce929d0e0e473/", 32, false),
        ("4bf92f3577b34da6a3ce929d0e0e473:", 32, false), ("00f067aa0ba902b7", 16, true), ("00f067aa0ba902b`", 16, false),
    ])
    func hexIDsAreCheckedByteByByte(text: String, count: Int, valid: Bool) {
        #expect(FieldExtraction.isHex(Array(text.utf8), count: count) == valid, "\(text)")
        let id = Array(text.utf8).withUnsafeBufferPointer { FieldExtraction.hexID($0, count: count) }
        #expect(id == (valid ? InlineText(text.lowercased()) : nil), "\(text)")
    }

    /// Keys are packed from overlapping word loads and lower-cased eight bytes at a time: the
    /// same words as packing byte by byte, for every length 1–16 and bytes around A–Z and a–z.
    @Test func packedKeysAgreeWithBytePacking() {
        let bytes: [UInt8] = [0x00, 0x2E, 0x40, 0x41, 0x4D, 0x5A, 0x5B, 0x5F, 0x60, 0x61, 0x7A, 0x7B, 0x7F, 0x80, 0xC1, 0xDA, 0xFF]
        var random = SystemRandomNumberGenerator()
        var mismatches: [[UInt8]] = []
        for _ in 0..<50_000 {
            let word = (0..<Int.random(in: 1...16, using: &random)).map { _ in bytes.randomElement(using: &random)! }
            var low: UInt64 = 0, high: UInt64 = 0
            for (k, c) in word.enumerated() {
                let lower = UInt64(c &- 65 < 26 ? c | 0x20 : c)
                if k < 8 { low |= lower << UInt64(8 * k) } else { high |= lower << UInt64(8 * (k - 8)) }
            }
            let packed = word.withUnsafeBufferPointer { FieldExtraction.PackedKey($0, .path) }
            if packed.low != low || packed.high != high || packed.count != word.count { mismatches.append(word) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
        for (name, key) in FieldExtraction.keys {
            #expect(name.withUnsafeBufferPointer { FieldExtraction.key($0) } == key)
            let upper = name.map { $0 &- 97 < 26 ? $0 - 32 : $0 }
            #expect(upper.withUnsafeBufferPointer { FieldExtraction.key($0) } == key)
        }
    }

    /// Every HTTP method of `methods` is recognised by its packed bytes, and nothing else is:
    /// lower case, one byte more or less, a letter changed.
    @Test func methodNamesAreTheMethodsAndNothingElse() {
        for method in FieldExtraction.methods {
            #expect(method.withUnsafeBufferPointer { FieldExtraction.methodName($0) } == String(decoding: method, as: UTF8.self))
            var nearMisses = [method.map { $0 | 0x20 }, method + [84], Array(method.dropLast()), [method[0]] + method.dropFirst().map { $0 == 69 ? 70 : 69 }]
            nearMisses.append(method.reversed())
            for miss in nearMisses where !FieldExtraction.methods.contains(miss) {
                #expect(miss.withUnsafeBufferPointer { FieldExtraction.methodName($0) } == nil, "\(String(decoding: miss, as: UTF8.self))")
            }
        }
        #expect(Array("GETX".utf8).withUnsafeBufferPointer { FieldExtraction.methodName($0) } == nil)
    }
}

@Suite struct EventIDPrefixTests {
    @Test func prefixGivesTheSameIdsAsTheFullHash() {
        let prefix = EventID.Prefix(host: "h1", fileIdentity: "abc")
        for offset: Int64 in [0, 7, 100, 123_456_789_012] {
            #expect(prefix.id(offset: offset) == EventID.make(host: "h1", fileIdentity: "abc", offset: offset))
        }
    }
}

/// The agent encodes one-line Python `logging` records from their bytes (`pythonView`) and
/// everything else through a `LogEvent`: both must give the same JSON for the same record.
@Suite struct PythonFastPathTests {
    static let lines = [
        "2026-11-25 10:00:00,123 WARNING [payment.api] charge slow trace_id=4BF92F3577B34DA6A3CE929D0E0E4736 span_id=00f067aa0ba902b7 POST /api/charge?x=1 status=502 duration_ms=1500",
        "2026-11-25 10:00:00,124 INFO [auth] login password=hunter2 token=\"a b\" user=bob card 4111 1111 1111 1111",
        "2026-11-25 10:00:00,125 ERROR [api] quote \" backslash \\ tab \t ctl \u{01} unicode ünï 😀 GET /ü",
        "2026-11-25 10:00:00,126 DEBUG [api] debug traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "2026-11-25 10:00:00,127 CRITICAL [db] method=put url=/z latency=250us took=1.5s elapsed_ms=7.25",
        "2026-11-25 10:00:00,128 INFO [] empty logger",
        "2026-11-25 10:00:00 INFO [x] no milliseconds",
        "2026-13-45 99:99:99,000 INFO [x] impossible date",
        "not python at all status=200",
        "   {\"event\": \"json\", \"level\": \"info\"}",
        "{\"message\": \"json\", \"levelname\": \"ERROR\", \"trace_id\": \"0af7651916cd43dd8448eb211c80319c\"}",
    ]

    /// What the agent ships for `line` (nil when dropped), by `process`, and by the `LogEvent` path.
    static func both(_ line: String, format: LogshipConfiguration.Input.Format, allowDebug: Bool) throws -> ([UInt8]?, [UInt8]?) {
        var input = LogshipConfiguration.Input(service: "payment", paths: ["/tmp/x.log"])
        input.format = format
        input.fields = ["env": "prod", "zone": "b"]
        let pipeline = try InputPipeline(input: input, host: "h1", allowDebug: allowDebug, maskPatterns: [], pythonFormat: nil)
        let record = Record(bytes: Array(line.utf8), offset: 42, endOffset: 42 + Int64(line.utf8.count) + 1, tags: ["truncated"])
        let output = OutputBuffer()
        let shipped: [UInt8]?
        switch pipeline.process(record, fileIdentity: "f1", filePath: "/tmp/x.log", nowMillis: 1_796_000_000_000,
                                stats: AgentStats(), into: output) {
        case .ship: shipped = Array(output.bytes)
        case .drop: shipped = nil
        }
        var event = pipeline.parser.parse(bytes: pipeline.masker.mask(bytes: record.bytes).0, nowMillis: 1_796_000_000_000)
        if event.level == .debug && !allowDebug { return (shipped, nil) }
        event.filePath = "/tmp/x.log"
        event.fileOffset = 42
        event.eventID = EventID.Prefix(host: "h1", fileIdentity: "f1").id(offset: 42)
        event.tags = ["truncated"] + event.tags
        return (shipped, event.encoded())
    }

    @Test(arguments: [LogshipConfiguration.Input.Format.auto, .python])
    func sameJSONAsTheEventPath(format: LogshipConfiguration.Input.Format) throws {
        for line in Self.lines {
            for allowDebug in [false, true] {
                let (fast, slow) = try Self.both(line, format: format, allowDebug: allowDebug)
                #expect(fast.map { String(decoding: $0, as: UTF8.self) } == slow.map { String(decoding: $0, as: UTF8.self) },
                        "\(format) \(line)")
            }
        }
        #expect(try Self.both(Self.lines[3], format: format, allowDebug: false).0 == nil, "DEBUG dropped")
    }

    @Test func theFastPathIsTaken() throws {
        let parser = RecordParser(service: "s", host: "h", format: .auto)
        for (line, expected) in [(Self.lines[0], true), (Self.lines[9], false), ("a\nb", false)] {
            let bytes = Array(line.utf8)
            let taken = bytes.withUnsafeBufferPointer { parser.mayBePythonLine($0) && parser.pythonView($0, nowMillis: 0) != nil }
            #expect(taken == expected, "\(line)")
        }
    }
}

/// The word-at-a-time checks of the Python timestamp agree with a byte-by-byte reading of it.
@Suite struct PythonTimestampShapeTests {
    /// `YYYY-MM-DD[ T]HH:MM:SS`, one byte at a time: the rule `timestampEnd` implements.
    static func hasShape(_ b: [UInt8]) -> Bool {
        guard b.count >= 19 else { return false }
        for (offset, byte) in b.prefix(19).enumerated() {
            switch offset {
            case 4, 7: if byte != 45 { return false }
            case 10: if byte != 32 && byte != 84 { return false }
            case 13, 16: if byte != 58 { return false }
            default: if !(48...57).contains(byte) { return false }
            }
        }
        return true
    }

    @Test func everyByteOfTheTimestampIsChecked() {
        let valid = Array("2026-11-25 10:00:00,123 INFO [a] m".utf8)
        let replacements: [UInt8] = [0, 32, 44, 45, 46, 47, 48, 57, 58, 59, 84, 116, 0x2F, 0x3A, 0x7F, 0x80, 0xB0, 0xFF]
        var checked = 0
        for position in 0..<19 {
            for byte in replacements {
                var line = valid
                line[position] = byte
                let end = line.withUnsafeBufferPointer { PythonLogFormat.timestampEnd($0, from: 0) }
                #expect((end != nil) == Self.hasShape(line), "byte \(byte) at \(position)")
                checked += 1
            }
        }
        #expect(checked == 19 * replacements.count)
        #expect(valid.withUnsafeBufferPointer { PythonLogFormat.timestampEnd($0, from: 0) } == 23)
        let iso = Array("x 2026-11-25T10:00:00.5+05:30 m".utf8)
        #expect(iso.withUnsafeBufferPointer { PythonLogFormat.timestampEnd($0, from: 2) } == 29)
        let short = Array("2026-11-25 10:00:0".utf8)
        #expect(short.withUnsafeBufferPointer { PythonLogFormat.timestampEnd($0, from: 0) } == nil)
    }
}
