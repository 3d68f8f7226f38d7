import Foundation

/// One record: a line, or several joined (a traceback), with the byte offsets it spans.
public struct Record: Sendable, Equatable {
    public var text: String
    /// Offset of the record's first byte in its file (the event id is derived from it).
    public var offset: Int64
    /// Offset just past the record's last line, newline included: where reading resumes.
    public var endOffset: Int64
    public var tags: [String]
}

/// How lines group into records.
public enum MultilineRule: Sendable {
    /// Every line is a record.
    case none
    /// Python: a record starts at a timestamp or `{`; indented lines, `Traceback…`, chained
    /// exception headers, blank lines and the final `Error: message` of a traceback continue it.
    case python
    /// Java: indented `at …` lines and `Caused by:` continue the record.
    case java
    /// Filebeat semantics: lines matching `pattern` (or not, with `negate`) belong to the
    /// previous line (`after`) or to the next one (`before`).
    case custom(pattern: NSRegularExpression, negate: Bool, before: Bool)
}

/// Joins lines into records. Pure state: the caller feeds lines with their offsets and the
/// current time, and gets records back; `flush(now:)` releases a record after the timeout.
public struct MultilineAggregator: @unchecked Sendable {
    public let rule: MultilineRule
    public let maxLines: Int
    public let maxBytes: Int
    public let timeoutMs: Int64

    private var lines: [String] = []
    private var bytes = 0
    private var startOffset: Int64 = 0
    private var endOffset: Int64 = 0
    private var lastLineAt: Int64 = 0
    private var tags: [String] = []
    private var lastMatchedBefore = false

    public init(rule: MultilineRule, maxLines: Int = 500, maxBytes: Int = 512 * 1024, timeoutMs: Int64 = 1_000) {
        self.rule = rule
        self.maxLines = maxLines
        self.maxBytes = maxBytes
        self.timeoutMs = timeoutMs
    }

    public var isEmpty: Bool { lines.isEmpty }

    /// Adds a line (without its newline) spanning [offset, endOffset). Returns a completed record, if any.
    public mutating func add(_ line: String, offset: Int64, endOffset: Int64, tags lineTags: [String] = [], now: Int64) -> Record? {
        var completed: Record?
        if !lines.isEmpty && !continues(line) {
            completed = take()
        }
        if lines.isEmpty { startOffset = offset; tags = [] }
        if lines.count >= maxLines || bytes + line.utf8.count > maxBytes {
            if !tags.contains("multiline_truncated") { tags.append("multiline_truncated") }
        } else {
            lines.append(line)
            bytes += line.utf8.count + 1
        }
        for tag in lineTags where !tags.contains(tag) { tags.append(tag) }
        self.endOffset = endOffset
        lastLineAt = now
        if case .custom(let pattern, let negate, true) = rule {
            lastMatchedBefore = matches(pattern, line) != negate
        }
        if case .none = rule { return completed ?? take() }
        return completed
    }

    /// Releases the pending record once no line has come for `timeoutMs`, or at once with `force`.
    public mutating func flush(now: Int64, force: Bool = false) -> Record? {
        guard !lines.isEmpty, force || now - lastLineAt >= timeoutMs else { return nil }
        return take()
    }

    private mutating func take() -> Record? {
        guard !lines.isEmpty else { return nil }
        var text = lines.joined(separator: "\n")
        while text.hasSuffix("\n") { text.removeLast() }
        let record = Record(text: text, offset: startOffset, endOffset: endOffset, tags: tags)
        lines.removeAll(keepingCapacity: true)
        bytes = 0
        tags = []
        lastMatchedBefore = false
        return record
    }

    func continues(_ line: String) -> Bool {
        switch rule {
        case .none: return false
        case .python: return Self.pythonContinues(line, record: lines)
        case .java:
            guard let first = line.utf8.first else { return false }
            return first == 32 || first == 9 || line.hasPrefix("Caused by:")
        case .custom(let pattern, let negate, let before):
            if before { return lastMatchedBefore }
            return matches(pattern, line) != negate
        }
    }

    func matches(_ pattern: NSRegularExpression, _ line: String) -> Bool {
        pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)) != nil
    }

    static func pythonContinues(_ line: String, record: [String]) -> Bool {
        guard let first = line.utf8.first else { return true }  // blank lines inside tracebacks
        if first == 32 || first == 9 { return true }
        if startsRecord(line) { return false }
        if line.hasPrefix("Traceback (most recent call last)") || line.hasPrefix("During handling of the above exception")
            || line.hasPrefix("The above exception was the direct cause") || line.hasPrefix("Exception Group Traceback") {
            return true
        }
        // The final `ValueError: message` line belongs to a traceback in progress.
        if record.contains(where: { $0.hasPrefix("Traceback") }) {
            let head = line.prefix { $0 != ":" }
            return !head.isEmpty && !head.contains(" ") && head.first!.isLetter
        }
        return false
    }

    /// A timestamp (`2026-11-25 10:…`) or a JSON object starts a new record.
    static func startsRecord(_ line: String) -> Bool {
        let b = Array(line.utf8.prefix(11))
        if b.first == UInt8(ascii: "{") || b.first == UInt8(ascii: "[") && b.count > 1 && b[1] >= 48 && b[1] <= 57 { return true }
        guard b.count >= 11 else { return false }
        let digitsAt = [0, 1, 2, 3, 5, 6, 8, 9]
        return digitsAt.allSatisfy { b[$0] >= 48 && b[$0] <= 57 } && b[4] == 45 && b[7] == 45 && (b[10] == 32 || b[10] == 84)
    }
}
