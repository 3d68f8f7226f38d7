import Foundation
import LogModel

/// Turns one record (a line, or a multiline group) into an event of the schema: JSON lines from
/// structlog, python-json-logger and OpenTelemetry-style loggers; Python `logging` text; plain text.
public struct RecordParser: Sendable {
    /// `auto` chooses per record among all the others (containers aside), by the record's first bytes.
    public enum Format: String, Sendable, CaseIterable {
        case auto, json, python, plain, syslog, nginx, apache, java, logfmt, klog, cri, docker
    }

    public let service: String
    public let host: String
    public let format: Format
    public let pythonFormat: PythonLogFormat
    public let staticFields: [(String, String)]
    public let keepOriginal: Bool
    /// The zone of timestamps written without one.
    public let zone: ZoneRule
    let sources: SourceFormats

    public init(service: String, host: String, format: Format, pythonFormat: PythonLogFormat = PythonLogFormat(),
                staticFields: [String: String] = [:], keepOriginal: Bool = false, zone: ZoneRule = .utc) {
        self.service = service
        self.host = host
        self.format = format
        self.pythonFormat = pythonFormat
        self.staticFields = staticFields.sorted { $0.key < $1.key }
        self.keepOriginal = keepOriginal
        self.zone = zone
        sources = SourceFormats(service: service, zone: zone)
    }

    /// `nowMillis` is the ingestion time, used when the record carries no timestamp.
    public func parse(_ text: String, nowMillis: Int64) -> LogEvent {
        parse(bytes: Array(text.utf8), nowMillis: nowMillis)
    }

    /// The same on a record's UTF-8 bytes (the agent's path: no intermediate strings). A record
    /// its configured format cannot read is shipped as plain text tagged `unparsed`.
    public func parse(bytes: [UInt8], nowMillis: Int64) -> LogEvent {
        var unparsed = false
        var result: LogEvent
        switch format {
        case .auto:
            result = parseAuto(bytes, nowMillis: nowMillis)
        case .plain:
            result = parsePlain(String(decoding: bytes, as: UTF8.self))
        case .json:
            result = parseJSON(String(decoding: bytes, as: UTF8.self)) ?? { unparsed = true; return parsePlain(String(decoding: bytes, as: UTF8.self)) }()
        case .python:
            result = parsePython(bytes) ?? { unparsed = true; return parsePlain(String(decoding: bytes, as: UTF8.self)) }()
        case .cri, .docker:
            result = parseContainer(bytes, docker: format == .docker, nowMillis: nowMillis)
                ?? { unparsed = true; return parsePlain(String(decoding: bytes, as: UTF8.self)) }()
        default:
            result = parseSource(format, bytes, nowMillis: nowMillis)
                ?? { unparsed = true; return parsePlain(String(decoding: bytes, as: UTF8.self)) }()
        }
        if unparsed { result.tags.append("unparsed") }
        if result.timestamp.isEmpty { result.timestamp = Timestamps.format(epochMillis: nowMillis) }
        result.hostName = host
        if !staticFields.isEmpty { result.labels = staticFields + result.labels }
        if keepOriginal { result.original = String(decoding: bytes, as: UTF8.self) }
        return result
    }

    /// Picks the format from the record's first bytes, trying only the formats that can start that way.
    func parseAuto(_ bytes: [UInt8], nowMillis: Int64) -> LogEvent {
        guard let first = bytes.first(where: { $0 != 32 && $0 != 9 }) else { return parsePlain("") }
        if first == UInt8(ascii: "{") {
            if Self.looksLikeDocker(bytes), let event = parseContainer(bytes, docker: true, nowMillis: nowMillis) { return event }
            if let event = parseJSON(String(decoding: bytes, as: UTF8.self)) { return event }
        } else if let event = parsePython(bytes) {
            return event
        } else {
            let candidates: [Format]
            switch first {
            case UInt8(ascii: "<"): candidates = [.syslog]
            case UInt8(ascii: "["): candidates = [.apache]
            case 48...57:
                if bytes.count > 20, bytes[4] == 45, bytes.withUnsafeBufferPointer({ SourceFormats.criLine($0) }) != nil,
                   let event = parseContainer(bytes, docker: false, nowMillis: nowMillis) {
                    return event
                }
                candidates = [.java, .syslog, .nginx, .logfmt]
            case UInt8(ascii: "I"), UInt8(ascii: "W"), UInt8(ascii: "E"), UInt8(ascii: "F"):
                candidates = [.klog, .syslog, .logfmt]
            default:
                candidates = [.syslog, .logfmt]
            }
            for candidate in candidates {
                if let event = parseSource(candidate, bytes, nowMillis: nowMillis) { return event }
            }
        }
        return parsePlain(String(decoding: bytes, as: UTF8.self))
    }

    static func looksLikeDocker(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { b in
            b.count > 20 && SecretMasker.hasPrefix(b, 0, "{\"log\":\"") && SecretMasker.find(b, from: 0, "\"stream\":") != nil
        }
    }

    /// One of the line formats of `SourceFormats` on the record's first line; further lines are
    /// the stack trace (Java) or continue the message.
    func parseSource(_ format: Format, _ bytes: [UInt8], nowMillis: Int64) -> LogEvent? {
        bytes.withUnsafeBufferPointer { all -> LogEvent? in
            let firstLineEnd = all.firstIndex(of: 10) ?? all.count
            let line = UnsafeBufferPointer(rebasing: all[..<firstLineEnd])
            let rest = firstLineEnd < all.count ? String(decoding: UnsafeBufferPointer(rebasing: all[(firstLineEnd + 1)...]), as: UTF8.self) : nil
            var event: LogEvent?
            switch format {
            case .syslog: event = sources.syslog(line, nowMillis: nowMillis)
            case .nginx, .apache: event = sources.web(line)
            case .java: return sources.java(line, rest: rest, nowMillis: nowMillis)
            case .klog: event = sources.klog(line, nowMillis: nowMillis)
            case .logfmt: event = sources.logfmt(line)
            default: return nil
            }
            guard var event else { return nil }
            if let rest {
                event.message += "\n" + rest
                if rest.contains("Traceback (most recent call last)") {
                    event.stackTrace = rest
                    (event.errorType, event.errorMessage) = Traceback.exception(in: rest)
                }
            }
            // logfmt's request facts are pairs of the line itself (`status=504 duration_ms=…`), not of its msg.
            let extracted = format == .logfmt ? FieldExtraction.scan(line) : FieldExtraction.scan(bytes: Array(event.message.utf8)[...])
            if event.traceID == nil { event.traceID = extracted.traceID?.description; event.spanID = event.spanID ?? extracted.spanID?.description }
            if event.httpStatus == nil { event.httpStatus = extracted.httpStatus }
            if event.durationNs == nil { event.durationNs = extracted.durationNs }
            if event.httpMethod == nil, event.urlPath == nil { event.httpMethod = extracted.httpMethod; event.urlPath = extracted.urlPath }
            return event
        }
    }

    /// A CRI or Docker json-file record: the application's text is parsed as `auto` would, the
    /// runtime's time stands in when that text has none, and the stream is kept.
    func parseContainer(_ bytes: [UInt8], docker: Bool, nowMillis: Int64) -> LogEvent? {
        guard let (content, time, stream) = SourceFormats.unwrapContainer(bytes, docker: docker) else { return nil }
        var event = parseAuto(content, nowMillis: nowMillis)  // whatever self.format says: the text inside is `auto`
        if event.timestamp.isEmpty, let time { event.timestamp = time }
        var facts = event.facts ?? SourceFacts()
        facts.containerStream = stream
        event.facts = facts
        return event
    }

    func parsePlain(_ text: String) -> LogEvent {
        let parts = Traceback.split(text)
        var event = LogEvent(timestamp: "", message: parts.message, serviceName: service)
        event.stackTrace = parts.stackTrace
        event.errorType = parts.errorType
        event.errorMessage = parts.errorMessage
        if let ts = text.split(separator: " ", maxSplits: 2).prefix(2).joined(separator: " ").nilIfEmpty,
           let normal = Timestamps.normalise(ts, zone: zone) ?? Timestamps.normalise(text.prefix(35), zone: zone) {
            event.timestamp = normal
            // A level word among the first words after the time (`… 04:00:31 [WARN] main …`).
            for word in parts.message.split(separator: " ", maxSplits: 6).dropFirst(2).prefix(3) {
                let name = word.trimmingCharacters(in: CharacterSet(charactersIn: "[]():|"))
                if name.count >= 4, name == name.uppercased(), let level = Level(normalising: name) { event.level = level; break }
            }
        }
        event.take(FieldExtraction.scan(bytes: Array(parts.message.utf8)[...]))
        return event
    }

    /// What a Python `logging` line (its first line, for a record with a traceback) holds.
    struct PythonLine {
        var fields: PythonLogFormat.Fields
        /// `@timestamp`, nil when the line has none (or not a valid one).
        var timestamp: InlineText?
        var millis: Int64?
        var level: Level?
        var extracted: ExtractedFields
    }

    func pythonLine(_ line: UnsafeBufferPointer<UInt8>) -> PythonLine? {
        guard let fields = pythonFormat.matchRanges(line) else { return nil }
        let (timestamp, millis) = pythonTime(line, fields)
        let level = fields.levelname.isEmpty ? nil : Level(bytes: UnsafeBufferPointer(rebasing: line[fields.levelname]))
        return PythonLine(fields: fields, timestamp: timestamp, millis: millis, level: level,
                          extracted: FieldExtraction.scan(UnsafeBufferPointer(rebasing: line[fields.message])))
    }

    /// The line's `asctime` as `@timestamp` and epoch milliseconds; nil when it has none (or not a valid one).
    @inline(__always) func pythonTime(_ line: UnsafeBufferPointer<UInt8>, _ fields: PythonLogFormat.Fields) -> (InlineText?, Int64?) {
        guard !fields.asctime.isEmpty,
              let millis = Timestamps.epochMillis(bytes: UnsafeBufferPointer(rebasing: line[fields.asctime]), zone: zone) else { return (nil, nil) }
        return (Timestamps.text(epochMillis: millis), millis)
    }

    func parsePython(_ bytes: [UInt8]) -> LogEvent? {
        bytes.withUnsafeBufferPointer { all -> LogEvent? in
            let firstLineEnd = all.firstIndex(of: 10) ?? all.count
            let line = UnsafeBufferPointer(rebasing: all[..<firstLineEnd])
            guard let parts = pythonLine(line) else { return nil }
            func string(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: line[range]), as: UTF8.self) }
            var event = LogEvent(timestamp: parts.timestamp?.description ?? "", message: string(parts.fields.message), serviceName: service)
            event.level = parts.level
            if !parts.fields.name.isEmpty { event.logger = string(parts.fields.name) }
            if firstLineEnd < all.count {
                let rest = String(decoding: UnsafeBufferPointer(rebasing: all[(firstLineEnd + 1)...]), as: UTF8.self)
                event.stackTrace = rest
                let (type, errorMessage) = Traceback.exception(in: rest)
                event.errorType = type
                event.errorMessage = errorMessage
            }
            event.take(parts.extracted)
            return event
        }
    }

    /// Whether `parse(bytes:)` would read this record as one Python `logging` line, so the
    /// agent may take `pythonView` instead (no event of strings built, same JSON out).
    func mayBePythonLine(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard format == .python || format == .auto, !keepOriginal, let base = bytes.baseAddress,
              memchr(base, 10, bytes.count) == nil else { return false }
        return format == .python || bytes.first(where: { $0 != 32 && $0 != 9 }) != UInt8(ascii: "{")
    }

    /// The event of a one-line Python `logging` record, as `parse(bytes:)` makes it, with the
    /// message and logger borrowed from `line`. Nil when the line is not in the format.
    func pythonView(_ line: UnsafeBufferPointer<UInt8>, nowMillis: Int64) -> EventView? {
        var seconds = PythonSecondCache()
        return withPythonView(line, nowMillis: nowMillis, seconds: &seconds) { $0 }
    }

    /// `pythonView` handed to `body` in place (an `EventView` is large: each copy retains and
    /// releases its texts and arrays), `pythonLine`'s work written straight into it (no
    /// `PythonLine` to copy and destroy); `seconds` keeps the last second read between lines.
    /// Nil when the line is not in the format.
    @inline(__always)
    func withPythonView<R>(_ line: UnsafeBufferPointer<UInt8>, nowMillis: Int64, seconds: inout PythonSecondCache,
                           _ body: (inout EventView) -> R) -> R? {
        guard let fields = pythonFormat.matchRanges(line) else { return nil }
        let timestamp: InlineText?, millis: Int64?
        if let known = seconds.read(UnsafeBufferPointer(rebasing: line[fields.asctime]), zone: zone) {
            (timestamp, millis) = (known.text, known.millis)
        } else {
            (timestamp, millis) = pythonTime(line, fields)
        }
        var view = EventView(timestamp: timestamp ?? Timestamps.text(epochMillis: nowMillis),
                             message: UnsafeBufferPointer(rebasing: line[fields.message]), serviceName: service)
        view.hostName = host
        view.timestampMillis = timestamp == nil ? nowMillis : millis
        view.level = fields.levelname.isEmpty ? nil : Level(bytes: UnsafeBufferPointer(rebasing: line[fields.levelname]))
        if !fields.name.isEmpty { view.logger = UnsafeBufferPointer(rebasing: line[fields.name]) }
        FieldExtraction.scan(UnsafeBufferPointer(rebasing: line[fields.message]), into: &view)
        if !staticFields.isEmpty { view.labels = staticFields }
        return body(&view)
    }

    func parseJSON(_ text: String) -> LogEvent? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return nil }
        var flat: [String: Any] = [:]
        Self.flatten(object, prefix: "", into: &flat)
        func take(_ keys: String...) -> Any? {
            for key in keys { if let value = flat.removeValue(forKey: key) { return value } }
            return nil
        }
        func takeString(_ keys: String...) -> String? {
            for key in keys {
                if let value = flat.removeValue(forKey: key) { return Self.string(value) }
            }
            return nil
        }
        let message = takeString("message", "event", "msg", "body", "log") ?? ""
        var event = LogEvent(timestamp: "", message: message, serviceName: service)
        if let time = take("@timestamp", "timestamp", "asctime", "time", "ts", "created", "timeUnixNano", "observedTimeUnixNano") {
            event.timestamp = Self.timestamp(time, zone: zone) ?? ""
        }
        for key in ["created", "msecs", "relativeCreated", "timeUnixNano", "observedTimeUnixNano"] { flat.removeValue(forKey: key) }
        if let level = takeString("log.level", "level", "levelname", "severity_text", "severityText", "severity", "lvl") {
            event.level = Level(normalising: level)
        }
        for key in ["levelno", "severity_number", "severityNumber"] { flat.removeValue(forKey: key) }
        event.logger = takeString("log.logger", "logger", "name", "logger_name", "logger.name")
        let trace = takeString("trace.id", "trace_id", "traceId", "traceID", "otelTraceID")
        let span = takeString("span.id", "span_id", "spanId", "spanID", "otelSpanID")
        if let trace, FieldExtraction.isHex(trace, count: 32) { event.traceID = trace.lowercased() }
        if let span, FieldExtraction.isHex(span, count: 16) { event.spanID = span.lowercased() }
        if let stack = takeString("error.stack_trace", "exception", "exc_info", "stack_trace", "stack", "exc_text", "traceback"),
           !stack.isEmpty, stack != "None" {
            event.stackTrace = stack
            let (type, text) = Traceback.exception(in: stack)
            event.errorType = type
            event.errorMessage = text
        }
        if let type = takeString("error.type", "exc_type") { event.errorType = type }
        if let text = takeString("error.message") { event.errorMessage = text }
        if let status = take("http.response.status_code", "status", "status_code", "http_status", "http.status_code"),
           let code = Int(Self.string(status)), (100...599).contains(code) {
            event.httpStatus = code
        }
        if let ns = take("event.duration") { event.durationNs = Int64(Self.string(ns)) }
        if let ms = take("duration_ms", "elapsed_ms", "latency_ms", "took_ms"), let value = Double(Self.string(ms)) {
            event.durationNs = Int64(value * 1_000_000)
        }
        if let method = takeString("http.request.method", "method", "http_method") { event.httpMethod = method.uppercased() }
        if let path = takeString("url.path", "path", "route", "url"), path.hasPrefix("/") {
            event.urlPath = String(path.prefix { $0 != "?" })
        }
        for key in ["service.name", "service", "resource.service.name", "host.name", "hostname", "event.id"] {
            flat.removeValue(forKey: key)
        }
        // Whatever else the service logged (extra=, bound context) is kept as labels.
        event.labels = flat.keys.sorted().map { key in
            (key.replacingOccurrences(of: "resource.", with: "").replacingOccurrences(of: "attributes.", with: ""),
             Self.string(flat[key]!))
        }
        if event.traceID == nil || event.httpStatus == nil || event.durationNs == nil {
            let extracted = FieldExtraction.scan(bytes: Array(message.utf8)[...])
            if event.traceID == nil { event.traceID = extracted.traceID?.description; event.spanID = event.spanID ?? extracted.spanID?.description }
            if event.httpStatus == nil { event.httpStatus = extracted.httpStatus }
            if event.durationNs == nil { event.durationNs = extracted.durationNs }
        }
        return event
    }

    static func flatten(_ object: [String: Any], prefix: String, into flat: inout [String: Any]) {
        for (key, value) in object {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            if let nested = value as? [String: Any], !nested.isEmpty {
                flatten(nested, prefix: path, into: &flat)
            } else {
                flat[path] = value
            }
        }
    }

    static func string(_ value: Any) -> String {
        switch value {
        case let s as String: return s
        case let b as Bool where type(of: value) == Bool.self: return b ? "true" : "false"
        case let n as NSNumber:
            if n.doubleValue == n.doubleValue.rounded(), abs(n.doubleValue) < 1e15 { return String(n.int64Value) }
            return String(n.doubleValue)
        case is NSNull: return ""
        default:
            if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
                return String(decoding: data, as: UTF8.self)
            }
            return "\(value)"
        }
    }

    /// A JSON time: RFC 3339 / Python text, epoch seconds (float), epoch ms, or epoch ns.
    static func timestamp(_ value: Any, zone: ZoneRule = .utc) -> String? {
        if let text = value as? String {
            if let normal = Timestamps.normalise(text, zone: zone) { return normal }
            if let number = Double(text) { return epochTimestamp(number) }
            return nil
        }
        if let number = value as? NSNumber { return epochTimestamp(number.doubleValue) }
        return nil
    }

    static func epochTimestamp(_ number: Double) -> String {
        let millis: Double
        switch number {
        case ..<1e11: millis = number * 1000       // seconds
        case ..<1e14: millis = number              // milliseconds
        case ..<1e17: millis = number / 1000       // microseconds
        default: millis = number / 1_000_000       // nanoseconds
        }
        return Timestamps.format(epochMillis: Int64(millis))
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// The request facts `FieldExtraction` finds, taken into either event form.
extension LogEvent {
    mutating func take(_ fields: ExtractedFields) {
        traceID = fields.traceID?.description
        spanID = fields.spanID?.description
        httpStatus = fields.httpStatus
        durationNs = fields.durationNs
        httpMethod = fields.httpMethod
        urlPath = fields.urlPath
    }
}
