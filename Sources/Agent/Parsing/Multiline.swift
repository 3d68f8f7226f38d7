import Foundation
import LogshipConfig

/// One record: a line, or several joined (a traceback), with the byte offsets it spans.
public struct Record: Sendable, Equatable {
    /// UTF-8 (repaired where the file was not), lines joined by `\n`, no trailing newline.
    public var bytes: [UInt8]
    /// Offset of the record's first byte in its file (the event id is derived from it).
    public var offset: Int64
    /// Offset just past the record's last line, newline included: where reading resumes.
    public var endOffset: Int64
    public var tags: [String]

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// How lines group into records.
public enum MultilineRule: Sendable {
    /// Every line is a record.
    case none
    /// Python: a record starts at a timestamp or `{`; indented lines, `Traceback…`, chained
    /// exception headers, blank lines and the final `Error: message` of a traceback continue it.
    case python
    /// Java: indented `at …` lines, `Caused by:` and an exception's `pkg.SomeException: message`
    /// header continue the record.
    case java
    /// Container runtimes (CRI, Docker json-file): a line the runtime split (`P`, or a Docker
    /// `log` value without its newline) is continued by the next.
    case container
    /// Filebeat semantics: lines matching `pattern` (or not, with `negate`) belong to the
    /// previous line (`after`) or to the next one (`before`).
    case custom(pattern: NSRegularExpression, negate: Bool, before: Bool)
}

/// Joins lines into records. Pure state: the caller feeds lines (bytes, without the newline)
/// with their offsets and the current time, and gets records back; `flush(now:)` releases a
/// record once no line has come for `timeoutMs` — or for `unfinishedTimeoutMs` while the record
/// is visibly unfinished (a traceback before its `Type: message` line, an open PEM key block, a
/// container's partial line). Works on bytes: every line of every file passes through here.
public struct MultilineAggregator: Sendable {
    public let rule: MultilineRule
    public let maxLines: Int
    public let maxBytes: Int
    public let timeoutMs: Int64
    public let unfinishedTimeoutMs: Int64

    private var pending: [UInt8] = []
    private var lineCount = 0
    private var startOffset: Int64 = 0
    private var endOffset: Int64 = 0
    private var lastLineAt: Int64 = 0
    private var tags: [String] = []
    private var lastMatchedBefore = false
    /// A line of the pending record starts with `Traceback`: its final `Error: message` belongs to it.
    private var inTraceback = false
    /// The pending record opened a PEM private-key block and has not closed it: every line
    /// belongs to it, so the masker sees (and hides) the whole key.
    private var inPrivateKey = false
    /// The last container line was partial.
    private var lastPartial = false
    /// The pending traceback's last line is not its final `Type: message` line.
    private var tracebackOpen = false
    /// Where records' bytes come from in the agent (buffers the shipping thread gave back); nil:
    /// each record's bytes are a new array.
    var buffers: RecordBuffers?

    public init(rule: MultilineRule, maxLines: Int = 500, maxBytes: Int = 512 * 1024,
                timeoutMs: Int64 = Int64(LogshipConfiguration.MultilineTimeouts.defaultMs),
                unfinishedTimeoutMs: Int64 = Int64(LogshipConfiguration.MultilineTimeouts.unfinishedMs)) {
        self.rule = rule
        self.maxLines = maxLines
        self.maxBytes = maxBytes
        self.timeoutMs = timeoutMs
        self.unfinishedTimeoutMs = max(timeoutMs, unfinishedTimeoutMs)
    }

    public var isEmpty: Bool { lineCount == 0 }

    public mutating func add(_ line: String, offset: Int64, endOffset: Int64, tags lineTags: [String] = [], now: Int64) -> Record? {
        var copy = line
        return copy.withUTF8 { add(bytes: $0, offset: offset, endOffset: endOffset, tags: lineTags, now: now) }
    }

    /// Adds a line (without its newline) spanning [offset, endOffset). Returns a completed record, if any.
    public mutating func add(bytes line: UnsafeBufferPointer<UInt8>, offset: Int64, endOffset: Int64,
                             tags lineTags: [String] = [], now: Int64) -> Record? {
        let opensKey = Self.opensPrivateKey(line)
        if case .none = rule, lineCount == 0, !opensKey {
            // One line, one record: no staging copy.
            return Record(bytes: buffers?.make(line) ?? Array(line), offset: offset, endOffset: endOffset, tags: lineTags)
        }
        var completed: Record?
        if lineCount > 0 && !inPrivateKey && !continues(line) {
            completed = take()
        }
        if opensKey { inPrivateKey = true }
        else if inPrivateKey, Self.closesPrivateKey(line) { inPrivateKey = false }
        if lineCount == 0 { startOffset = offset; tags = [] }
        if lineCount >= maxLines || pending.count + line.count > maxBytes {
            if !tags.contains("multiline_truncated") { tags.append("multiline_truncated") }
        } else {
            if lineCount > 0 { pending.append(10) }
            pending.append(contentsOf: line)
            lineCount += 1
            if Self.hasPrefix(line, "Traceback") { inTraceback = true }
            if inTraceback { tracebackOpen = !Self.endsTraceback(line) }
        }
        for tag in lineTags where !tags.contains(tag) { tags.append(tag) }
        self.endOffset = endOffset
        lastLineAt = now
        if case .custom(let pattern, let negate, true) = rule {
            lastMatchedBefore = Self.matches(pattern, line) != negate
        }
        if case .container = rule { lastPartial = SourceFormats.isPartialContainerLine(line) }
        if case .none = rule, !inPrivateKey { return completed ?? take() }
        return completed
    }

    /// Releases the pending record once no line has come for `timeoutMs` (`unfinishedTimeoutMs`
    /// while it is visibly unfinished), or at once with `force`.
    public mutating func flush(now: Int64, force: Bool = false) -> Record? {
        guard lineCount > 0 else { return nil }
        let unfinished = tracebackOpen || inPrivateKey || lastPartial
        guard force || now - lastLineAt >= (unfinished ? unfinishedTimeoutMs : timeoutMs) else { return nil }
        return take()
    }

    /// A traceback line that can be its last: the unindented `Type: message` (or bare `Type`)
    /// line, not a header that more lines follow.
    static func endsTraceback(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = line.first, first != 32, first != 9 else { return false }
        return !(hasPrefix(line, "Traceback (most recent call last)") || hasPrefix(line, "During handling of the above exception")
            || hasPrefix(line, "The above exception was the direct cause") || hasPrefix(line, "Exception Group Traceback"))
    }

    private mutating func take() -> Record? {
        guard lineCount > 0 else { return nil }
        var end = pending.count
        while end > 0 && pending[end - 1] == 10 { end -= 1 }
        // A copy of exactly the record's bytes: `Array(pending[..<end])` would hand over pending's
        // whole buffer when the slice spans it (every record then kept the capacity of the longest
        // record seen — a traceback's kilobytes for a 160-byte line), and `removeAll` below would
        // allocate that capacity again for the next one.
        let bytes = pending.withUnsafeBufferPointer { pending in
            let record = UnsafeBufferPointer(rebasing: pending[..<end])
            return buffers?.make(record) ?? Array(record)
        }
        let record = Record(bytes: bytes, offset: startOffset, endOffset: endOffset, tags: tags)
        pending.removeAll(keepingCapacity: true)
        lineCount = 0
        tags = []
        lastMatchedBefore = false
        inTraceback = false
        tracebackOpen = false
        inPrivateKey = false
        lastPartial = false
        return record
    }

    func continues(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        switch rule {
        case .none: return false
        case .python: return Self.pythonContinues(line, inTraceback: inTraceback) || Self.javaExceptionHeader(line)
        case .java:
            guard let first = line.first else { return false }
            return first == 32 || first == 9 || Self.hasPrefix(line, "Caused by:") || Self.javaExceptionHeader(line)
        case .container: return lastPartial
        case .custom(let pattern, let negate, let before):
            if before { return lastMatchedBefore }
            return Self.matches(pattern, line) != negate
        }
    }

    static func matches(_ pattern: NSRegularExpression, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let line = String(decoding: bytes, as: UTF8.self)
        return pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil
    }

    static func pythonContinues(_ line: UnsafeBufferPointer<UInt8>, inTraceback: Bool) -> Bool {
        guard let first = line.first else { return true }  // blank lines inside tracebacks
        if first == 32 || first == 9 { return true }
        if startsRecord(line) { return false }
        if hasPrefix(line, "Traceback (most recent call last)") || hasPrefix(line, "During handling of the above exception")
            || hasPrefix(line, "The above exception was the direct cause") || hasPrefix(line, "Exception Group Traceback") {
            return true
        }
        // The final `ValueError: message` line belongs to a traceback in progress.
        guard inTraceback else { return false }
        var headLength = 0
        while headLength < line.count, line[headLength] != 58 {  // :
            if line[headLength] == 32 { return false }
            headLength += 1
        }
        return headLength > 0 && (PythonLogFormat.isLetter(first) || first >= 0x80)
    }

    /// `java.lang.IllegalStateException: boom`, `com.acme.PaymentError`: the first line of a
    /// Java stack trace, which is not indented.
    static func javaExceptionHeader(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = b.first, PythonLogFormat.isLetter(first) else { return false }
        var end = 0
        var dots = 0
        while end < b.count, b[end] != 58 {
            let c = b[end]
            if c == 32 || c == 9 { return false }
            if c == 46 { dots += 1 }
            end += 1
        }
        guard dots > 0 else { return false }
        let head = UnsafeBufferPointer(rebasing: b[..<end])
        return hasSuffix(head, "Exception") || hasSuffix(head, "Error") || hasSuffix(head, "Throwable")
    }

    static func hasSuffix(_ b: UnsafeBufferPointer<UInt8>, _ suffix: StaticString) -> Bool {
        let count = suffix.utf8CodeUnitCount
        guard b.count >= count else { return false }
        return memcmp(b.baseAddress! + (b.count - count), suffix.utf8Start, count) == 0
    }

    /// A line that opens `-----BEGIN … PRIVATE KEY-----` without closing it (found from an
    /// upper-case `B`, which most lines lack).
    static func opensPrivateKey(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard b.count >= 27 else { return false }
        var from = 5
        var begin = -1
        while let k = SecretMasker.find(b, from: from, "BEGIN ") {
            if SecretMasker.hasPrefix(b, k - 5, "-----") { begin = k; break }
            from = k + 1
        }
        guard begin >= 0 else { return false }
        let rest = UnsafeBufferPointer(rebasing: b[begin...])
        return SecretMasker.find(rest, from: 0, "PRIVATE KEY-----") != nil && SecretMasker.find(rest, from: 0, "-----END ") == nil
    }

    static func closesPrivateKey(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        SecretMasker.find(b, from: 0, "-----END ") != nil
    }

    /// A timestamp (`2026-11-25 10:…`) or a JSON object starts a new record.
    static func startsRecord(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = b.first else { return false }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") && b.count > 1 && b[1] >= 48 && b[1] <= 57 { return true }
        guard b.count >= 11 else { return false }
        for i in [0, 1, 2, 3, 5, 6, 8, 9] where !(b[i] >= 48 && b[i] <= 57) { return false }
        return b[4] == 45 && b[7] == 45 && (b[10] == 32 || b[10] == 84)
    }

    static func hasPrefix(_ b: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard b.count >= count else { return false }
        return memcmp(b.baseAddress!, prefix.utf8Start, count) == 0
    }
}
