import Foundation
import LogModel

/// Web servers: nginx and Apache access logs (common, combined) and their error logs.
extension SourceFormats {

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
}
