import Foundation
import LogModel

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

}
