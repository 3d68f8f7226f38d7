import Foundation
import LogModel

/// A read position in one line's bytes, for the format parsers below (no regex, no
/// intermediate strings until a field is kept).
struct ByteCursor {
    let b: UnsafeBufferPointer<UInt8>
    var pos = 0

    init(_ b: UnsafeBufferPointer<UInt8>, at pos: Int = 0) {
        self.b = b
        self.pos = pos
    }

    var atEnd: Bool { pos >= b.count }
    var peek: UInt8? { pos < b.count ? b[pos] : nil }

    mutating func skipSpaces() { while pos < b.count, b[pos] == 32 || b[pos] == 9 { pos += 1 } }

    mutating func expect(_ byte: UInt8) -> Bool {
        guard pos < b.count, b[pos] == byte else { return false }
        pos += 1
        return true
    }

    mutating func expect(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard pos + count <= b.count else { return false }
        for k in 0..<count where b[pos + k] != text.utf8Start[k] { return false }
        pos += count
        return true
    }

    /// Exactly `count` digits.
    mutating func digits(_ count: Int) -> Int? {
        guard let value = Timestamps.digits(b, pos, count) else { return nil }
        pos += count
        return value
    }

    /// One or more digits.
    mutating func number() -> Int64? {
        let start = pos
        var value: Int64 = 0
        while pos < b.count, b[pos] &- 48 < 10, pos - start < 18 { value = value * 10 + Int64(b[pos] - 48); pos += 1 }
        return pos > start ? value : nil
    }

    /// Bytes up to the next space (or the end).
    mutating func word() -> Range<Int> {
        let start = pos
        while pos < b.count, b[pos] != 32, b[pos] != 9 { pos += 1 }
        return start..<pos
    }

    /// Bytes up to `stop` (exclusive); the cursor moves past it. Nil when `stop` never comes.
    mutating func until(_ stop: UInt8) -> Range<Int>? {
        let start = pos
        while pos < b.count, b[pos] != stop { pos += 1 }
        guard pos < b.count else { pos = start; return nil }
        pos += 1
        return start..<(pos - 1)
    }

    /// A `"…"` string with backslash escapes (the cursor on its opening quote): its inner range.
    mutating func quoted() -> Range<Int>? {
        guard expect(34) else { return nil }
        let start = pos
        while pos < b.count, b[pos] != 34 { pos += b[pos] == 92 ? 2 : 1 }
        guard pos < b.count else { return nil }
        pos += 1
        return start..<(pos - 1)
    }

    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: b[range.clamped(to: 0..<b.count)]), as: UTF8.self)
    }

    /// The text of a quoted range with `\"` and `\\` unescaped.
    func unescaped(_ range: Range<Int>) -> String {
        guard b[range].contains(92) else { return string(range) }
        var out: [UInt8] = []
        var k = range.lowerBound
        while k < range.upperBound {
            if b[k] == 92, k + 1 < range.upperBound {
                let next = b[k + 1]
                out.append(next == UInt8(ascii: "n") ? 10 : next == UInt8(ascii: "t") ? 9 : next)
                k += 2
            } else {
                out.append(b[k])
                k += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    var rest: Range<Int> { min(pos, b.count)..<b.count }
}

/// The formats fleets write beside Python `logging` and JSON: each parser takes a record's
/// first line (and the rest of the record, for stack traces) and returns nil when the line is
/// not in its format, so `auto` can try the next and a configured format can fall back to plain.
struct SourceFormats {
    let service: String
    let zone: ZoneRule

    // MARK: syslog

    /// RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`), RFC 3164 with or without
    /// `<PRI>` (`Dec  6 04:00:31 host prog[pid]: msg`, with or without a year), and the
    /// ISO-timestamped file layout of rsyslog and syslog-ng (`2026-12-06T04:00:31.123+08:00 host prog: msg`).
    func syslog(_ b: UnsafeBufferPointer<UInt8>, nowMillis: Int64) -> LogEvent? {
        var c = ByteCursor(b)
        var facts = SourceFacts()
        var level: Level?
        if c.expect(60) {  // <PRI>
            guard let pri = c.number(), pri <= 191, c.expect(62) else { return nil }
            facts.syslogFacility = pri / 8
            facts.syslogSeverity = pri % 8
            level = Self.syslogLevel(pri % 8)
            if c.expect("1 ") { return syslog5424(&c, facts: facts, level: level) }
        }
        let hadPRI = c.pos > 0
        guard let timestamp = syslogTimestamp(&c, nowMillis: nowMillis), c.expect(32) else { return nil }
        c.skipSpaces()
        // HOST TAG[PID]: MSG, where HOST is absent in what `logger` sends to a local socket.
        let first = c.word()
        var tagRange = first
        if !Self.isTag(b, first) {
            facts.syslogHostname = c.string(first)
            c.skipSpaces()
            let save = c.pos
            tagRange = c.word()
            if !Self.isTag(b, tagRange) { c.pos = save; tagRange = save..<save }
        } else if !hadPRI && first.isEmpty {
            return nil
        }
        // Without `<PRI>`, only the `prog:`/`prog[pid]:` tag tells a syslog line from any other
        // line that starts with a time (`2026-12-06 04:00:31 INFO main started`).
        if !hadPRI && tagRange.isEmpty { return nil }
        if !tagRange.isEmpty {
            var tag = tagRange
            if b[tag.upperBound - 1] == 58 { tag = tag.lowerBound..<(tag.upperBound - 1) }
            if let open = b[tag].firstIndex(of: 91), b[tag.upperBound - 1] == 93 {
                var pid = ByteCursor(b, at: open + 1)
                facts.processPID = pid.number()
                tag = tag.lowerBound..<open
            }
            facts.processName = c.string(tag)
            c.skipSpaces()
        }
        var event = LogEvent(timestamp: timestamp, message: c.string(c.rest), serviceName: service)
        event.level = level
        event.facts = facts
        return event
    }

    /// `prog:`, `prog[123]:`: a syslog tag (not a host name).
    static func isTag(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool {
        guard !r.isEmpty, b[r.lowerBound] != 91 else { return false }  // `[WARN]` is no program name
        return b[r.upperBound - 1] == 58 || (b[r.upperBound - 1] == 93 && b[r].contains(91))
    }

    func syslog5424(_ c: inout ByteCursor, facts: SourceFacts, level: Level?) -> LogEvent? {
        var facts = facts
        let b = c.b
        let time = c.word()
        guard c.expect(32) else { return nil }
        let host = c.word(); guard c.expect(32) else { return nil }
        let app = c.word(); guard c.expect(32) else { return nil }
        let proc = c.word(); guard c.expect(32) else { return nil }
        _ = c.word(); guard c.expect(32) || c.atEnd else { return nil }  // MSGID
        // Structured data: `-` or one or more `[id k="v" …]` (`]` and `"` escaped inside values).
        if c.peek == 45 { c.pos += 1 } else {
            while c.peek == 91 {
                var inQuote = false
                while let byte = c.peek {
                    c.pos += 1
                    if byte == 92 { c.pos += 1; continue }
                    if byte == 34 { inQuote.toggle() }
                    if byte == 93 && !inQuote { break }
                }
            }
        }
        c.skipSpaces()
        if c.expect("\u{FEFF}") {}
        let timestamp = Self.isDash(b, time) ? "" : (Timestamps.normalise(bytes: UnsafeBufferPointer(rebasing: b[time]), zone: zone) ?? "")
        var event = LogEvent(timestamp: timestamp, message: c.string(c.rest), serviceName: service)
        if !Self.isDash(b, host) { facts.syslogHostname = c.string(host) }
        if !Self.isDash(b, app) { facts.processName = c.string(app) }
        if !Self.isDash(b, proc) { var p = ByteCursor(b, at: proc.lowerBound); facts.processPID = p.number() }
        event.level = level
        event.facts = facts
        return event
    }

    /// `Mmm dd HH:MM:SS`, `Mmm dd yyyy HH:MM:SS`, `Mmm dd HH:MM:SS yyyy`, or an ISO 8601 time.
    func syslogTimestamp(_ c: inout ByteCursor, nowMillis: Int64) -> String? {
        let b = c.b
        if c.peek.map({ $0 &- 48 < 10 }) == true {
            let end = PythonLogFormat.timestampEnd(b, from: c.pos) ?? c.pos
            guard end > c.pos, let normal = Timestamps.normalise(bytes: UnsafeBufferPointer(rebasing: b[c.pos..<end]), zone: zone) else { return nil }
            c.pos = end
            return normal
        }
        guard let month = Timestamps.month(b, c.pos) else { return nil }
        c.pos += 3
        guard c.expect(32) else { return nil }
        if c.peek == 32 { c.pos += 1 }
        guard let day = c.number(), (1...31).contains(day), c.expect(32) else { return nil }
        var year: Int?
        if let y = Timestamps.digits(b, c.pos, 4), c.pos + 4 < b.count, b[c.pos + 4] == 32 { year = y; c.pos += 5 }
        guard let (h, m, s, millis) = clock(&c) else { return nil }
        if year == nil, let y = Timestamps.digits(b, c.pos + 1, 4), b[c.pos] == 32, c.pos + 5 == b.count || b[c.pos + 5] == 32 {
            year = y
            c.pos += 5
        }
        return Timestamps.compose(year: year ?? Timestamps.inferYear(month: month, nowMillis: nowMillis), month: month,
                                  day: Int(day), hour: h, minute: m, second: s, millis: millis, offsetSeconds: nil, zone: zone)
    }

    /// `HH:MM:SS[.fff…]`: hour, minute, second, milliseconds.
    func clock(_ c: inout ByteCursor) -> (Int, Int, Int, Int)? {
        guard let h = c.digits(2), c.expect(58), let m = c.digits(2), c.expect(58), let s = c.digits(2),
              h < 24, m < 60, s < 61 else { return nil }
        var millis = 0
        if c.peek == 46 || c.peek == 44 {
            c.pos += 1
            var scale = 100
            while let d = c.peek, d &- 48 < 10 { millis += Int(d - 48) * scale; scale /= 10; c.pos += 1 }
        }
        return (h, m, s, millis)
    }

    static func syslogLevel(_ severity: Int64) -> Level {
        switch severity {
        case 0...2: return .critical
        case 3: return .error
        case 4: return .warn
        case 7: return .debug
        default: return .info
        }
    }

    static func isDash(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Bool { r.count == 1 && b[r.lowerBound] == 45 }

    // MARK: web servers

    /// nginx / Apache access logs (common and combined, with nginx's `$request_time` or an
    /// upstream time at the end), nginx error logs and Apache 2.2/2.4 error logs.
    func web(_ b: UnsafeBufferPointer<UInt8>) -> LogEvent? {
        guard let first = b.first else { return nil }
        if first == 91 { return apacheError(b) }
        if b.count > 19, b[4] == 47, b[7] == 47 { return nginxError(b) }
        return access(b)
    }

    func access(_ b: UnsafeBufferPointer<UInt8>) -> LogEvent? {
        var c = ByteCursor(b)
        let client = c.word()
        guard !client.isEmpty, c.expect(32) else { return nil }
        _ = c.word()  // ident
        guard c.expect(32) else { return nil }
        let user = c.word()
        guard c.expect(32), c.expect(91), let time = c.until(93), c.expect(32) else { return nil }
        guard let timestamp = accessTime(UnsafeBufferPointer(rebasing: b[time])), let request = c.quoted(), c.expect(32),
              let status = c.number(), (100...599).contains(status), c.expect(32) else { return nil }
        var facts = SourceFacts()
        facts.clientAddress = c.string(client)
        if !Self.isDash(b, user) { facts.userName = c.string(user) }
        let size = c.word()
        if !Self.isDash(b, size) { var s = ByteCursor(b, at: size.lowerBound); facts.responseBytes = s.number() }
        var event = LogEvent(timestamp: timestamp, message: c.string(0..<b.count), serviceName: service)
        event.httpStatus = Int(status)
        event.level = status >= 500 ? .error : status >= 400 ? .warn : .info
        // "GET /path?query HTTP/1.1"
        var r = ByteCursor(b, at: request.lowerBound)
        let method = r.word()
        if r.expect(32), method.count <= 10, method.allSatisfy({ b[$0] &- 65 < 26 }) {
            event.httpMethod = c.string(method)
            let target = r.word()
            var path = target
            if let q = b[target].firstIndex(of: 63) {
                path = target.lowerBound..<q
                facts.urlQuery = c.string((q + 1)..<target.upperBound)
            }
            event.urlPath = c.string(path)
            if r.expect(32), r.pos < request.upperBound, r.expect("HTTP/") {
                facts.httpVersion = c.string(r.pos..<min(request.upperBound, r.pos + 3))
            }
        }
        c.skipSpaces()
        if c.peek == 34, let referrer = c.quoted() {
            if !Self.isDash(b, referrer) { facts.referrer = c.unescaped(referrer) }
            c.skipSpaces()
            if c.peek == 34, let agent = c.quoted(), !Self.isDash(b, agent) { facts.userAgent = c.unescaped(agent) }
        }
        // A trailing `$request_time` (seconds, with a fraction), as nginx setups add it.
        c.skipSpaces()
        while !c.atEnd {
            let token = c.word()
            c.skipSpaces()
            let text = c.string(token).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            let value = text.split(separator: "=").last.map(String.init) ?? text
            if value.contains("."), let seconds = Double(value), seconds >= 0, seconds < 86_400 {
                event.durationNs = Int64(seconds * 1e9)
                break
            }
        }
        event.facts = facts
        return event
    }

    /// `10/Oct/2000:13:55:36 -0700`.
    func accessTime(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        var c = ByteCursor(b)
        guard let day = c.digits(2), c.expect(47), let month = Timestamps.month(b, c.pos) else { return nil }
        c.pos += 3
        guard c.expect(47), let year = c.digits(4), c.expect(58), let (h, m, s, ms) = clock(&c) else { return nil }
        var offset: Int?
        if c.expect(32), let sign = c.peek, sign == 43 || sign == 45 {
            c.pos += 1
            guard let hh = c.digits(2), let mm = c.digits(2) else { return nil }
            offset = (hh * 3600 + mm * 60) * (sign == 45 ? -1 : 1)
        }
        return Timestamps.compose(year: year, month: month, day: day, hour: h, minute: m, second: s, millis: ms,
                                  offsetSeconds: offset, zone: zone)
    }

    /// `2026/12/06 04:00:31 [error] 1234#5678: *9 message, client: 1.2.3.4, server: x, request: "GET / HTTP/1.1"`.
    func nginxError(_ b: UnsafeBufferPointer<UInt8>) -> LogEvent? {
        guard let timestamp = Timestamps.normalise(bytes: UnsafeBufferPointer(rebasing: b[0..<19]), zone: zone) else { return nil }
        var c = ByteCursor(b, at: 19)
        guard c.expect(" ["), let level = c.until(93), c.expect(32) else { return nil }
        var facts = SourceFacts()
        facts.processPID = c.number()
        if c.expect(35) { facts.threadID = c.number() }
        guard c.expect(": ") else { return nil }
        if c.peek == 42 { _ = c.word(); c.skipSpaces() }  // *connection
        let message = c.string(c.rest)
        var event = LogEvent(timestamp: timestamp, message: message, serviceName: service)
        event.level = Level(bytes: UnsafeBufferPointer(rebasing: b[level]))
        if let client = message.range(of: ", client: ") {
            facts.clientAddress = String(message[client.upperBound...].prefix { $0 != "," })
        }
        if let request = message.range(of: "request: \"") {
            let parts = message[request.upperBound...].prefix { $0 != "\"" }.split(separator: " ")
            if parts.count >= 2 { event.httpMethod = String(parts[0]); event.urlPath = String(parts[1].prefix { $0 != "?" }) }
        }
        event.facts = facts
        return event
    }

    /// `[Sun Dec 06 04:00:31.123456 2026] [core:error] [pid 1234:tid 5678] [client 1.2.3.4:5678] AH00126: message`
    /// (2.4), or `[Sun Dec 06 04:00:31 2026] [error] [client 1.2.3.4] message` (2.2).
    func apacheError(_ b: UnsafeBufferPointer<UInt8>) -> LogEvent? {
        var c = ByteCursor(b, at: 1)
        _ = c.word()  // day of week
        guard c.expect(32), let month = Timestamps.month(b, c.pos) else { return nil }
        c.pos += 3
        guard c.expect(32), let day = c.digits(2), c.expect(32), let (h, m, s, ms) = clock(&c), c.expect(32),
              let year = c.digits(4), c.expect(93) else { return nil }
        var facts = SourceFacts()
        var level: Level?
        while c.expect(" [") {
            guard let field = c.until(93) else { return nil }
            let text = c.string(field)
            if text.hasPrefix("pid ") {
                let parts = text.dropFirst(4).split(separator: ":")
                facts.processPID = parts.first.flatMap { Int64($0) }
                if parts.count > 1, parts[1].hasPrefix("tid ") { facts.threadID = Int64(parts[1].dropFirst(4)) }
            } else if text.hasPrefix("client ") {
                var address = String(text.dropFirst(7))
                if let colon = address.lastIndex(of: ":"), address.filter({ $0 == ":" }).count == 1 { address = String(address[..<colon]) }
                facts.clientAddress = address
            } else if level == nil {
                let name = text.split(separator: ":").last.map(String.init) ?? text
                level = Level(normalising: name.hasPrefix("trace") ? "TRACE" : name)
                if let module = text.split(separator: ":").first, text.contains(":") { facts.processName = String(module) }
            }
        }
        c.skipSpaces()
        var event = LogEvent(timestamp: Timestamps.compose(year: year, month: month, day: day, hour: h, minute: m, second: s,
                                                           millis: ms, offsetSeconds: nil, zone: zone),
                             message: c.string(c.rest), serviceName: service)
        event.level = level
        event.facts = facts
        return event
    }

    // MARK: Java

    /// log4j / logback / Spring Boot default layouts: a timestamp (date and time, or logback's
    /// time of day), then in any order a level, `[thread]`, a pid and `---`, then the logger and
    /// ` - ` or ` : ` before the message. The record's further lines are the stack trace.
    func java(_ b: UnsafeBufferPointer<UInt8>, rest: String?, nowMillis: Int64) -> LogEvent? {
        var c = ByteCursor(b)
        var timestamp: String
        if let end = PythonLogFormat.timestampEnd(b, from: 0) {
            guard let normal = Timestamps.normalise(bytes: UnsafeBufferPointer(rebasing: b[0..<end]), zone: zone) else { return nil }
            timestamp = normal
            c.pos = end
        } else if b.count > 8, b[2] == 58, let (h, m, s, ms) = clock(&c) {
            // logback's default `HH:mm:ss.SSS`: today, on the host's calendar in the input's zone.
            let localNow = nowMillis / 1000 + zone.offset(atUTC: nowMillis / 1000)
            let (y, mo, d) = Timestamps.civil(days: Int(localNow / 86_400))
            timestamp = Timestamps.compose(year: y, month: mo, day: d, hour: h, minute: m, second: s, millis: ms,
                                           offsetSeconds: nil, zone: zone)
        } else {
            return nil
        }
        var level: Level?, thread: String?, pid: Int64?, logger: String?
        var messageStart = -1
        while !c.atEnd {
            c.skipSpaces()
            guard let byte = c.peek else { break }
            if byte == 91 {
                c.pos += 1
                guard let inside = c.until(93) else { return nil }
                // Spring Boot 3.2+ writes `[app] [thread]`: the last bracket is the thread.
                thread = c.string(inside).trimmingCharacters(in: .whitespaces)
                continue
            }
            let word = c.word()
            if word.count == 1, b[word.lowerBound] == 45 || b[word.lowerBound] == 58 {
                c.skipSpaces()
                messageStart = c.pos
                break
            }
            if b[word].elementsEqual([45, 45, 45]) { continue }
            if level == nil, let l = Level(bytes: UnsafeBufferPointer(rebasing: b[word])), word.count >= 4 {
                level = l
            } else if b[word].allSatisfy({ $0 &- 48 < 10 }) {
                var p = ByteCursor(b, at: word.lowerBound)
                pid = p.number()
            } else {
                logger = c.string(word)
            }
        }
        guard let level, messageStart >= 0 else { return nil }
        var event = LogEvent(timestamp: timestamp, message: c.string(messageStart..<b.count), serviceName: service)
        event.level = level
        event.logger = logger
        if thread != nil || pid != nil {
            var facts = SourceFacts()
            facts.threadName = thread
            facts.processPID = pid
            event.facts = facts
        }
        if let rest, !rest.isEmpty {
            event.stackTrace = rest
            (event.errorType, event.errorMessage) = Self.javaException(rest)
        }
        return event
    }

    /// The outermost exception of a Java stack trace: its first `pkg.Type: message` line.
    static func javaException(_ trace: String) -> (String?, String?) {
        for line in trace.split(separator: "\n") {
            guard let first = line.first, first != " ", first != "\t" else { continue }
            let head = line.prefix { $0 != ":" }
            guard !head.contains(" "), head.contains(".") || head.hasSuffix("Exception") || head.hasSuffix("Error") else { continue }
            let message = line.dropFirst(head.count).drop { $0 == ":" || $0 == " " }
            return (String(head), message.isEmpty ? nil : String(message))
        }
        return (nil, nil)
    }

    // MARK: Go klog

    /// `I1206 04:00:31.123456   12345 main.go:42] message` (glog/klog header).
    func klog(_ b: UnsafeBufferPointer<UInt8>, nowMillis: Int64) -> LogEvent? {
        guard b.count > 22, let first = b.first else { return nil }
        let level: Level
        switch first {
        case 73: level = .info
        case 87: level = .warn
        case 69: level = .error
        case 70: level = .critical
        default: return nil
        }
        var c = ByteCursor(b, at: 1)
        guard let month = c.digits(2), let day = c.digits(2), (1...12).contains(month), c.expect(32),
              let (h, m, s, ms) = clock(&c) else { return nil }
        c.skipSpaces()
        var facts = SourceFacts()
        facts.threadID = c.number()
        c.skipSpaces()
        guard let origin = c.until(93) else { return nil }
        let originText = c.string(origin)
        if let colon = originText.lastIndex(of: ":") {
            facts.originFile = String(originText[..<colon])
            facts.originLine = Int64(originText[originText.index(after: colon)...])
        }
        c.skipSpaces()
        let timestamp = Timestamps.compose(year: Timestamps.inferYear(month: month, nowMillis: nowMillis), month: month, day: day,
                                           hour: h, minute: m, second: s, millis: ms, offsetSeconds: nil, zone: zone)
        var event = LogEvent(timestamp: timestamp, message: c.string(c.rest), serviceName: service)
        event.level = level
        event.facts = facts
        return event
    }

    // MARK: logfmt

    /// `time=… level=info msg="…" key=value`: known keys to their fields, the rest to labels.
    func logfmt(_ b: UnsafeBufferPointer<UInt8>) -> LogEvent? {
        var c = ByteCursor(b)
        var pairs: [(String, String)] = []
        while !c.atEnd {
            c.skipSpaces()
            let keyStart = c.pos
            while let byte = c.peek, byte != 61, byte != 32, byte != 34 { c.pos += 1 }
            guard c.pos > keyStart, c.expect(61) else { return nil }
            let key = c.string(keyStart..<(c.pos - 1))
            let value: String
            if c.peek == 34 {
                guard let quoted = c.quoted() else { return nil }
                value = c.unescaped(quoted)
            } else {
                value = c.string(c.word())
            }
            pairs.append((key, value))
        }
        guard pairs.count >= 2 else { return nil }
        var event = LogEvent(timestamp: "", message: "", serviceName: service)
        var facts = SourceFacts()
        var message: String?
        for (key, value) in pairs {
            switch key.lowercased() {
            case "time", "ts", "timestamp", "t", "@timestamp", "date":
                event.timestamp = Timestamps.normalise(value, zone: zone) ?? RecordParser.timestamp(value) ?? ""
            case "level", "lvl", "severity", "loglevel", "log.level":
                event.level = Level(normalising: value)
            case "msg", "message":
                message = value
            case "logger", "component", "module", "log.logger":
                event.logger = value
            case "caller", "source":
                if let colon = value.lastIndex(of: ":"), let line = Int64(value[value.index(after: colon)...]) {
                    facts.originFile = String(value[..<colon])
                    facts.originLine = line
                } else {
                    event.labels.append((key, value))
                }
            case "pid":
                facts.processPID = Int64(value)
            default:
                event.labels.append((key, value))
            }
        }
        event.message = message ?? c.string(0..<b.count)
        if facts != SourceFacts() { event.facts = facts }
        return event
    }

    // MARK: containers

    /// One CRI line: `2026-12-06T04:00:31.123456789Z stdout F text` (`P` marks a partial line
    /// that the next continues). Nil when the line is not one.
    static func criLine(_ b: UnsafeBufferPointer<UInt8>) -> (time: Range<Int>, stream: Range<Int>, partial: Bool, content: Range<Int>)? {
        var c = ByteCursor(b)
        let time = c.word()
        guard time.count >= 20, b[time.lowerBound + 4] == 45, c.expect(32) else { return nil }
        let stream = c.word()
        guard c.expect(32), let tag = c.peek, tag == 80 || tag == 70 else { return nil }
        c.pos += 1
        guard c.atEnd || c.expect(32) else { return nil }
        return (time, stream, tag == 80, c.rest)
    }

    /// Whether a container line is partial (the runtime split a long line): CRI `P`, or a
    /// Docker json-file `log` value without its final newline.
    static func isPartialContainerLine(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        if let first = b.first, first == 123 {
            // `{"log":"…\n","stream":…}`: a complete line's value ends with an escaped newline.
            guard let end = SecretMasker.find(b, from: 0, "\",\"stream\"") else { return false }
            return !(end >= 2 && b[end - 2] == 92 && b[end - 1] == 110)
        }
        return criLine(b)?.partial ?? false
    }

    /// Unwraps a container record (one or more CRI or Docker json-file lines, partial ones
    /// joined): the application's own text, and the runtime's time and stream.
    static func unwrapContainer(_ record: [UInt8], docker: Bool) -> (content: [UInt8], time: String?, stream: String?)? {
        var content: [UInt8] = []
        var time: String?, stream: String?
        var ok = false
        for line in record.split(separator: 10, omittingEmptySubsequences: true) {
            if docker {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let log = object["log"] as? String else { return ok ? (content, time, stream) : nil }
                var text = Array(log.utf8)
                if text.last == 10 { text.removeLast() }
                if text.last == 13 { text.removeLast() }
                content += text
                time = time ?? (object["time"] as? String).flatMap { Timestamps.normalise($0) }
                stream = stream ?? object["stream"] as? String
            } else {
                let parsed = line.withUnsafeBufferPointer { b -> (String, String, [UInt8])? in
                    guard let cri = criLine(b) else { return nil }
                    return (String(decoding: UnsafeBufferPointer(rebasing: b[cri.time]), as: UTF8.self),
                            String(decoding: UnsafeBufferPointer(rebasing: b[cri.stream]), as: UTF8.self),
                            Array(b[cri.content]))
                }
                guard let (t, s, text) = parsed else { return ok ? (content, time, stream) : nil }
                content += text
                time = time ?? Timestamps.normalise(t)
                stream = stream ?? s
            }
            ok = true
        }
        return ok ? (content, time, stream) : nil
    }

    /// Kubernetes metadata from a container log's path: `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`
    /// or `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log`.
    static func kubernetesFacts(path: String) -> SourceFacts? {
        let parts = path.split(separator: "/")
        if let index = parts.lastIndex(of: "containers"), index + 1 == parts.count - 1, parts[index + 1].hasSuffix(".log") {
            let name = parts[index + 1].dropLast(4)
            let fields = name.split(separator: "_", maxSplits: 2)
            guard fields.count == 3, let dash = fields[2].lastIndex(of: "-") else { return nil }
            var facts = SourceFacts()
            facts.kubernetesPod = String(fields[0])
            facts.kubernetesNamespace = String(fields[1])
            facts.kubernetesContainer = String(fields[2][..<dash])
            let id = fields[2][fields[2].index(after: dash)...]
            if !id.isEmpty { facts.containerID = String(id) }
            return facts
        }
        if let index = parts.lastIndex(of: "pods"), index + 3 == parts.count - 1 {
            let fields = parts[index + 1].split(separator: "_", maxSplits: 2)
            guard fields.count == 3 else { return nil }
            var facts = SourceFacts()
            facts.kubernetesNamespace = String(fields[0])
            facts.kubernetesPod = String(fields[1])
            facts.kubernetesPodUID = String(fields[2])
            facts.kubernetesContainer = String(parts[index + 2])
            return facts
        }
        return nil
    }
}
