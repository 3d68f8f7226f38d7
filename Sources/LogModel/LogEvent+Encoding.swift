/// Hand-written JSON output: the agent encodes every line it ships, so this avoids the cost of
/// a general encoder while producing nested ECS objects.
extension LogEvent {
    public func encoded() -> [UInt8] {
        let out = OutputBuffer(capacity: 512)
        encode(into: out)
        return Array(out.bytes)
    }

    /// Writes the event's JSON into `out`, replacing its contents and reusing its storage.
    public func encode(into out: OutputBuffer) {
        withView { $0.encode(into: out) }
    }

    /// The event as an `EventView` (its message and logger borrowed for the duration of `body`).
    public func withView<R>(_ body: (inout EventView) -> R) -> R {
        var message = self.message
        var logger = self.logger ?? ""
        return message.withUTF8 { message in
            logger.withUTF8 { loggerBytes in
                var view = EventView(timestamp: timestamp, message: message, serviceName: serviceName)
                view.hostName = hostName
                view.level = level
                view.logger = self.logger == nil ? nil : loggerBytes
                view.filePath = filePath
                view.fileOffset = fileOffset
                view.traceID = traceID
                view.spanID = spanID
                view.errorType = errorType
                view.errorMessage = errorMessage
                view.stackTrace = stackTrace
                view.httpMethod = httpMethod
                view.httpStatus = httpStatus
                view.urlPath = urlPath
                view.durationNs = durationNs
                view.eventID = eventID
                view.original = original
                view.labels = labels
                view.tags = tags
                view.factsBox = factsBox
                return body(&view)
            }
        }
    }
}

/// A `LogEvent` whose message and logger are borrowed bytes (of a record being shipped): the
/// agent fills one per Python `logging` line without making a string of either. The one place
/// where the event's JSON layout is written.
public struct EventView {
    public var timestamp: String
    public var message: UnsafeBufferPointer<UInt8>
    public var serviceName: String
    public var hostName: String?
    public var level: Level?
    public var logger: UnsafeBufferPointer<UInt8>?
    public var filePath: String?
    public var fileOffset: Int64?
    public var traceID: String?
    public var spanID: String?
    public var errorType: String?
    public var errorMessage: String?
    public var stackTrace: String?
    public var httpMethod: String?
    public var httpStatus: Int?
    public var urlPath: String?
    public var durationNs: Int64?
    public var eventID: String?
    public var original: String?
    public var labels: [(String, String)] = []
    public var tags: [String] = []
    /// `timestamp` in milliseconds, when the parser knew it (not encoded: the agent's future check reads it).
    public var timestampMillis: Int64?
    public var facts: SourceFacts? {
        get { factsBox?.value }
        set { factsBox = newValue.map(SourceFacts.Box.init) }
    }
    var factsBox: SourceFacts.Box?

    public init(timestamp: String, message: UnsafeBufferPointer<UInt8>, serviceName: String) {
        self.timestamp = timestamp
        self.message = message
        self.serviceName = serviceName
    }

    /// Straight-line code with begin/end pairs: closures here would copy the whole event.
    public func encode(into out: OutputBuffer) {
        var w = JSONWriter(out)
        defer { w.finish() }
        w.open()
        // Read through the box (a reference): copying the struct out would cost every event.
        let facts = factsBox
        w.field("@timestamp", timestamp)
        w.key("message"); w.string(bytes: message)
        w.begin("service"); w.field("name", serviceName); w.close()
        if let hostName { w.begin("host"); w.field("name", hostName); w.close() }
        if level != nil || logger != nil || filePath != nil || fileOffset != nil || facts != nil {
            w.begin("log")
            if let level { w.field("level", level.rawValue) }
            if let logger { w.key("logger"); w.string(bytes: logger) }
            if let filePath { w.begin("file"); w.field("path", filePath); w.close() }
            if let fileOffset { w.field("offset", fileOffset) }
            if let facts { Self.encodeLogFacts(facts.value, &w) }
            w.close()
        }
        if let traceID { w.begin("trace"); w.field("id", traceID); w.close() }
        if let spanID { w.begin("span"); w.field("id", spanID); w.close() }
        if errorType != nil || errorMessage != nil || stackTrace != nil {
            w.begin("error")
            if let errorType { w.field("type", errorType) }
            if let errorMessage { w.field("message", errorMessage) }
            if let stackTrace { w.field("stack_trace", stackTrace) }
            w.close()
        }
        let referrer = facts?.value.referrer, bodyBytes = facts?.value.responseBytes, version = facts?.value.httpVersion
        if httpMethod != nil || httpStatus != nil || referrer != nil || bodyBytes != nil || version != nil {
            w.begin("http")
            if httpMethod != nil || referrer != nil {
                w.begin("request")
                if let httpMethod { w.field("method", httpMethod) }
                if let referrer { w.field("referrer", referrer) }
                w.close()
            }
            if httpStatus != nil || bodyBytes != nil {
                w.begin("response")
                if let httpStatus { w.field("status_code", Int64(httpStatus)) }
                if let bodyBytes { w.begin("body"); w.field("bytes", bodyBytes); w.close() }
                w.close()
            }
            if let version { w.field("version", version) }
            w.close()
        }
        let query = facts?.value.urlQuery
        if urlPath != nil || query != nil {
            w.begin("url")
            if let urlPath { w.field("path", urlPath) }
            if let query { w.field("query", query) }
            w.close()
        }
        let created = facts?.value.created
        if eventID != nil || durationNs != nil || original != nil || created != nil {
            w.begin("event")
            if let eventID { w.field("id", eventID) }
            if let durationNs { w.field("duration", durationNs) }
            if let original { w.field("original", original) }
            if let created { w.field("created", created) }
            w.close()
        }
        if let facts { Self.encodeSourceObjects(facts.value, &w) }
        if !labels.isEmpty {
            w.begin("labels")
            for (key, value) in labels { w.key(dynamic: key); w.string(value) }
            w.close()
        }
        if !tags.isEmpty {
            w.key("tags")
            w.put(UInt8(ascii: "["))
            for (index, tag) in tags.enumerated() {
                if index > 0 { w.put(UInt8(ascii: ",")) }
                w.string(tag)
            }
            w.put(UInt8(ascii: "]"))
        }
        w.close()
    }
}

extension EventView {
    /// `log.origin` and `log.syslog`, inside the `log` object.
    static func encodeLogFacts(_ f: SourceFacts, _ w: inout JSONWriter) {
        if f.originFile != nil || f.originLine != nil {
            w.begin("origin"); w.begin("file")
            if let name = f.originFile { w.field("name", name) }
            if let line = f.originLine { w.field("line", line) }
            w.close(); w.close()
        }
        if f.syslogHostname != nil || f.syslogFacility != nil || f.syslogSeverity != nil {
            w.begin("syslog")
            if let host = f.syslogHostname { w.field("hostname", host) }
            if let code = f.syslogFacility { w.begin("facility"); w.field("code", code); w.close() }
            if let code = f.syslogSeverity { w.begin("severity"); w.field("code", code); w.close() }
            w.close()
        }
    }

    /// The top-level objects only source facts fill: process, client, user, user_agent, kubernetes, container.
    static func encodeSourceObjects(_ f: SourceFacts, _ w: inout JSONWriter) {
        if f.processName != nil || f.processPID != nil || f.threadName != nil || f.threadID != nil {
            w.begin("process")
            if let name = f.processName { w.field("name", name) }
            if let pid = f.processPID { w.field("pid", pid) }
            if f.threadName != nil || f.threadID != nil {
                w.begin("thread")
                if let id = f.threadID { w.field("id", id) }
                if let name = f.threadName { w.field("name", name) }
                w.close()
            }
            w.close()
        }
        if let address = f.clientAddress { w.begin("client"); w.field("address", address); w.close() }
        if let user = f.userName { w.begin("user"); w.field("name", user); w.close() }
        if let agent = f.userAgent { w.begin("user_agent"); w.field("original", agent); w.close() }
        if f.kubernetesNamespace != nil || f.kubernetesPod != nil || f.kubernetesContainer != nil {
            w.begin("kubernetes")
            if let namespace = f.kubernetesNamespace { w.field("namespace", namespace) }
            if f.kubernetesPod != nil || f.kubernetesPodUID != nil {
                w.begin("pod")
                if let pod = f.kubernetesPod { w.field("name", pod) }
                if let uid = f.kubernetesPodUID { w.field("uid", uid) }
                w.close()
            }
            if let container = f.kubernetesContainer { w.begin("container"); w.field("name", container); w.close() }
            w.close()
        }
        if f.containerID != nil || f.containerStream != nil || f.kubernetesContainer != nil {
            w.begin("container")
            if let id = f.containerID { w.field("id", id) }
            if let name = f.kubernetesContainer { w.field("name", name) }
            if let stream = f.containerStream { w.field("stream", stream) }
            w.close()
        }
    }
}

/// A growable byte buffer written through a pointer: the encoder's output, reused from event
/// to event by the agent (no allocation per event once it has grown).
public final class OutputBuffer {
    public private(set) var base: UnsafeMutablePointer<UInt8>
    public private(set) var capacity: Int
    public var count = 0

    public init(capacity: Int = 1024) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func grow(to minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}

/// Writes JSON into an `OutputBuffer`. The write position lives in this struct while encoding
/// (a class property would pay a dynamic exclusivity check on every byte); `finish()` hands
/// the result back to the buffer.
struct JSONWriter {
    private let buffer: OutputBuffer
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var needsComma = false

    init(_ buffer: OutputBuffer) {
        self.buffer = buffer
        base = buffer.base
        capacity = buffer.capacity
    }

    mutating func finish() { buffer.count = count }

    @inline(__always) mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    mutating func grow(_ minimum: Int) {
        buffer.count = count
        buffer.grow(to: minimum)
        base = buffer.base
        capacity = buffer.capacity
    }

    @inline(__always) mutating func put(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        if bytes.count <= 16 {
            // Most values are short (names, levels, ids): a call to memcpy costs more than the copy.
            for k in 0..<bytes.count { base[count + k] = source[k] }
        } else {
            (base + count).update(from: source, count: bytes.count)
        }
        count += bytes.count
    }

    mutating func put(decimal value: Int64) {
        if value < 0 {
            put(UInt8(ascii: "-"))
            if value == .min { for byte in "9223372036854775808".utf8 { put(byte) }; return }
        }
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        reserve(20)
        while divisor > 0 {
            base[count] = UInt8(48 + magnitude / divisor)
            count += 1
            magnitude %= divisor
            divisor /= 10
        }
    }

    mutating func open() { put(UInt8(ascii: "{")); needsComma = false }
    mutating func close() { put(UInt8(ascii: "}")); needsComma = true }

    /// A key known at compile time (ASCII, nothing to escape): copied as is.
    /// Keys are a few bytes long: word copies beat a call to memcpy, and one `reserve` covers it all.
    @inline(never)  // called for every key of every event: one copy of it keeps the encoder's code small
    mutating func key(_ name: StaticString) {
        let length = name.utf8CodeUnitCount
        reserve(length + 4)
        if needsComma { base[count] = UInt8(ascii: ","); count += 1 }
        let out = base + count
        let source = name.utf8Start
        out[0] = UInt8(ascii: "\"")
        // Two overlapping word copies instead of a byte loop (most keys are 4–16 bytes; the
        // reservation above covers the writes, the literal's bytes the reads).
        let to = UnsafeMutableRawPointer(out + 1), from = UnsafeRawPointer(source)
        if length > 16 {
            for k in 0..<length { out[k + 1] = source[k] }
        } else if length >= 8 {
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self), toByteOffset: length - 8, as: UInt64.self)
        } else if length >= 4 {
            to.storeBytes(of: from.loadUnaligned(as: UInt32.self), as: UInt32.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self), toByteOffset: length - 4, as: UInt32.self)
        } else {
            for k in 0..<length { out[k + 1] = source[k] }
        }
        out[length + 1] = UInt8(ascii: "\"")
        out[length + 2] = UInt8(ascii: ":")
        count += length + 3
        needsComma = true
    }

    mutating func key(dynamic name: String) {
        if needsComma { put(UInt8(ascii: ",")) }
        string(name)
        put(UInt8(ascii: ":"))
        needsComma = true
    }

    mutating func begin(_ name: StaticString) {
        key(name)
        open()
    }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        put(decimal: value)
    }

    /// Whether a word of 8 bytes may hold a control character, `"` or `\\` (bit tricks from
    /// "Bit Twiddling Hacks": haszero/hasless; false positives only, checked byte by byte).
    @inline(__always) static func mayNeedEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let control = (w &- 0x2020_2020_2020_2020) & ~w & highs
        let q = w ^ 0x2222_2222_2222_2222, quote = (q &- ones) & ~q & highs
        let b = w ^ 0x5C5C_5C5C_5C5C_5C5C, backslash = (b &- ones) & ~b & highs
        return (control | quote | backslash) != 0
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func string(_ value: String) {
        var copy = value
        copy.withUTF8 { string(bytes: $0) }
    }

    /// A JSON string literal: runs of plain bytes are copied whole; quotes, backslashes and
    /// control characters are escaped.
    mutating func string(bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count + 2)
        put(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        let n = bytes.count
        while index < n {
            // Eight plain bytes at a time; the byte loop below only sees words that may need escaping.
            while index + 8 <= n, !Self.mayNeedEscape(UnsafeRawPointer(bytes.baseAddress! + index).loadUnaligned(as: UInt64.self)) {
                index += 8
            }
            guard index < n else { break }
            let byte = bytes[index]
            index += 1
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            let escapeAt = index - 1
            put(UnsafeBufferPointer(rebasing: bytes[runStart..<escapeAt]))
            put(92)
            switch byte {
            case UInt8(ascii: "\""): put(34)
            case UInt8(ascii: "\\"): put(92)
            case 0x0A: put(UInt8(ascii: "n"))
            case 0x0D: put(UInt8(ascii: "r"))
            case 0x09: put(UInt8(ascii: "t"))
            default:
                put(UInt8(ascii: "u")); put(48); put(48)
                put(Self.hex[Int(byte >> 4)]); put(Self.hex[Int(byte & 15)])
            }
            runStart = index
        }
        put(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        put(UInt8(ascii: "\""))
    }
}
