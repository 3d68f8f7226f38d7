import Foundation
import CByteScan
import LogModel

/// Finds the request facts services put in plain messages: `trace_id=`, `span_id=`,
/// `traceparent=`, `status=`, `duration_ms=`, `GET /path`. A scan over the bytes (no regex,
/// no per-character String work): every shipped line goes through here.
public struct ExtractedFields: Equatable, Sendable {
    /// Lower-case hex, held inline (no allocation per line).
    public var traceID: InlineText?
    public var spanID: InlineText?
    public var httpStatus: Int?
    public var durationNs: Int64?
    public var httpMethod: String?
    public var urlPath: String?
}

/// What a field scan fills in: `ExtractedFields`, or an event view directly (the Python fast
/// path: no intermediate struct to copy and destroy per line).
protocol ExtractedFieldsSink {
    var traceID: InlineText? { get set }
    var spanID: InlineText? { get set }
    var httpStatus: Int? { get set }
    var durationNs: Int64? { get set }
    var httpMethod: String? { get set }
    /// The path (its query cut off) as bytes of the line being scanned.
    mutating func setURLPath(_ path: UnsafeBufferPointer<UInt8>)
}

extension ExtractedFields: ExtractedFieldsSink {
    mutating func setURLPath(_ path: UnsafeBufferPointer<UInt8>) { urlPath = String(decoding: path, as: UTF8.self) }
}
extension EventView: ExtractedFieldsSink {}

public enum FieldExtraction {
    static let methods: [[UInt8]] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"].map { Array($0.utf8) }

    enum Key {
        case trace, span, traceparent, status, durationMs, duration, method, path
    }

    static let keys: [([UInt8], Key)] = ([
        ("trace_id", .trace), ("traceid", .trace), ("trace.id", .trace), ("oteltraceid", .trace),
        ("span_id", .span), ("spanid", .span), ("span.id", .span), ("otelspanid", .span),
        ("traceparent", .traceparent),
        ("status", .status), ("status_code", .status), ("http_status", .status), ("http.status_code", .status),
        ("duration_ms", .durationMs), ("elapsed_ms", .durationMs), ("latency_ms", .durationMs), ("took_ms", .durationMs),
        ("time_ms", .durationMs),
        ("duration", .duration), ("elapsed", .duration), ("latency", .duration), ("took", .duration),
        ("method", .method), ("http_method", .method),
        ("path", .path), ("url", .path), ("url.path", .path), ("route", .path),
    ] as [(String, Key)]).map { (Array($0.0.utf8), $0.1) }

    /// A key's bytes (at most 16, lower case) in two words, compared in two instructions.
    struct PackedKey {
        var low: UInt64 = 0, high: UInt64 = 0
        var count: Int
        var key: Key

        /// Loads the bytes as words (overlapping loads inside the word, never past it) and
        /// lower-cases A–Z eight at a time (keys hold `_` and `.`, not only letters).
        @inline(__always) init(_ bytes: UnsafeBufferPointer<UInt8>, _ key: Key) {
            count = bytes.count
            self.key = key
            let p = UnsafeRawPointer(bytes.baseAddress!)
            @inline(__always) func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> UInt64 {
                UInt64(p.loadUnaligned(fromByteOffset: offset, as: T.self))
            }
            switch count {
            case 0: break
            case 1: low = load(0, UInt8.self)
            case 2...3: low = load(0, UInt16.self) | load(count &- 2, UInt16.self) &<< UInt64(8 &* (count &- 2))
            case 4...7: low = load(0, UInt32.self) | load(count &- 4, UInt32.self) &<< UInt64(8 &* (count &- 4))
            default:
                low = load(0, UInt64.self)
                // The last eight bytes, moved down past the ones `low` holds (16 at most are kept).
                if count > 8 { high = load(min(count, 16) &- 8, UInt64.self) &>> UInt64(8 &* (16 &- min(count, 16))) }
            }
            low = Self.lowercased(low)
            high = Self.lowercased(high)
        }

        /// A–Z | 0x20 in each byte of `word` (ASCII; bytes ≥ 0x80 are left as they are).
        @inline(__always) static func lowercased(_ word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101, high: UInt64 = 0x8080_8080_8080_8080
            let seven = word & ~high
            // Top bit set where the byte is >= 'A', and where it is > 'Z' (on the low 7 bits: no carry between bytes).
            let atLeastA = seven &+ ones &* (0x80 &- 0x41), aboveZ = seven &+ ones &* (0x80 &- 0x5B)
            let upper = atLeastA & ~aboveZ & ~word & high
            return word | upper &>> 2
        }
    }

    public static func scan(_ message: String) -> ExtractedFields {
        scan(bytes: Array(message.utf8)[...])
    }

    public static func scan(bytes: ArraySlice<UInt8>) -> ExtractedFields {
        bytes.withUnsafeBufferPointer { scan($0) }
    }

    /// The scan itself, over raw bytes: every shipped line goes through here, so no slices
    /// (their bounds checks and reference counting cost more than the scan). Only words holding
    /// a `=` (a key) or starting with `/` (a path after a method) can give a field, so the scan
    /// jumps from one such byte to the next (sixteen bytes at a time) and reads only their words.
    static func scan(_ b: UnsafeBufferPointer<UInt8>) -> ExtractedFields {
        var fields = ExtractedFields()
        scan(b, into: &fields)
        return fields
    }

    /// The scan, setting what it finds in `fields` (and leaving the rest as it is).
    /// (Indices stay within the message: their arithmetic wraps, `&+`, without overflow checks.)
    static func scan<Sink: ExtractedFieldsSink>(_ b: UnsafeBufferPointer<UInt8>, into fields: inout Sink) {
        let n = b.count
        let table = Self.table
        var i = 0
        while i < n {
            let mark = nextMark(b, from: i)
            guard mark < n else { break }
            // The word around it (words are separated by spaces, tabs and commas), found sixteen bytes at a time.
            let start = logship_word_start(b.baseAddress!, mark)
            let end = mark &+ 1 &+ logship_find_separator(b.baseAddress! + (mark &+ 1), n &- mark &- 1)
            i = end
            if b[start] == 47 {  // "/path" after a method
                var previousEnd = start
                while previousEnd > 0, isSeparator(b[previousEnd &- 1]) { previousEnd &-= 1 }
                var previousStart = previousEnd
                while previousStart > 0, !isSeparator(b[previousStart &- 1]) { previousStart &-= 1 }
                if previousEnd > previousStart, let name = methodName(UnsafeBufferPointer(rebasing: b[previousStart..<previousEnd])) {
                    fields.httpMethod = name
                    fields.setURLPath(path(UnsafeBufferPointer(rebasing: b[start..<end])))
                }
                continue
            }
            // `mark` is the word's first `=` or `/`: its first `=` is there or after it.
            var eq = mark
            while eq < end, b[eq] != 61 { eq &+= 1 }
            guard eq < end, eq > start else { continue }
            var valueStart = eq &+ 1, valueEnd = end
            if valueStart < valueEnd, b[valueStart] == 34 || b[valueStart] == 39 { valueStart &+= 1 }
            if valueEnd > valueStart, b[valueEnd &- 1] == 34 || b[valueEnd &- 1] == 39 { valueEnd &-= 1 }
            if let key = key(UnsafeBufferPointer(rebasing: b[start..<eq]), in: table) {
                apply(key, UnsafeBufferPointer(rebasing: b[valueStart..<valueEnd]), to: &fields)
            }
        }
    }

    /// The index of the next `=` or `/` at or after `from` (`b.count` when none), sixteen bytes at a time.
    @inline(__always) static func nextMark(_ b: UnsafeBufferPointer<UInt8>, from: Int) -> Int {
        guard let base = b.baseAddress, from < b.count else { return b.count }
        return from &+ logship_find_either(base + from, b.count &- from, 61, 47)
    }

    @inline(__always) static func isSeparator(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 44 }

    /// The keys packed, by their first letter: those starting with letter L are
    /// `keys[starts[L]..<starts[L + 1]]`, so a word is compared only with the keys it could be;
    /// `lengths[L]` has bit N set when such a key has N bytes ("user" is no key of 4 bytes). Made
    /// once, in memory of their own for the process's life: a lookup (four or five a line) reads
    /// them with one lazy-initialisation check and without Array bounds checks.
    final class KeyTable: @unchecked Sendable {
        let keys: UnsafeMutableBufferPointer<PackedKey>
        let starts: UnsafeMutableBufferPointer<Int>
        let lengths: UnsafeMutableBufferPointer<UInt32>

        init() {
            let packed = FieldExtraction.keys.sorted { $0.0[0] < $1.0[0] }
                .map { name, key in name.withUnsafeBufferPointer { PackedKey($0, key) } }
            keys = .allocate(capacity: packed.count)
            _ = keys.initialize(from: packed)
            starts = .allocate(capacity: 27)
            _ = starts.initialize(from: (0...26).map { letter in packed.firstIndex { Int($0.low & 0xFF) - 97 >= letter } ?? packed.count })
            lengths = .allocate(capacity: 26)
            _ = lengths.initialize(from: (0..<26).map { letter in
                packed.filter { Int($0.low & 0xFF) - 97 == letter }.reduce(0) { $0 | 1 << UInt32($1.count) }
            })
        }
    }
    static let table = KeyTable()

    static func key(_ bytes: UnsafeBufferPointer<UInt8>) -> Key? { key(bytes, in: table) }

    /// `key(_:)` with the table at hand (the scan reads the global once, not once a word).
    static func key(_ bytes: UnsafeBufferPointer<UInt8>, in table: KeyTable) -> Key? {
        // No key is shorter than 3 or longer than 16 bytes: most words end here.
        guard bytes.count >= 3, bytes.count <= 16 else { return nil }
        let letter = Int(bytes[0] | 0x20) &- 97
        guard letter >= 0, letter < 26 else { return nil }
        guard table.lengths[letter] >> UInt32(bytes.count) & 1 != 0 else { return nil }
        let first = table.starts[letter], last = table.starts[letter + 1]
        let word = PackedKey(bytes, .path)
        for index in first..<last {
            let candidate = table.keys[index]
            if candidate.low == word.low, candidate.high == word.high, candidate.count == word.count { return candidate.key }
        }
        return nil
    }

    /// The method a word names (one of `methods`), by its bytes packed little-endian into a word
    /// (all are at most 7 bytes); the names are literals (no table read, no reference counted a line).
    static func methodName(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.count >= 3, bytes.count <= 7, bytes[0] >= 65, bytes[0] <= 90 else { return nil }
        var packed: UInt64 = 0
        for index in 0..<bytes.count { packed |= UInt64(bytes[index]) &<< (8 &* UInt64(index)) }
        switch packed {
        case 0x54_4547: return "GET"
        case 0x5453_4f50: return "POST"
        case 0x54_5550: return "PUT"
        case 0x4554_454c_4544: return "DELETE"
        case 0x48_4354_4150: return "PATCH"
        case 0x4441_4548: return "HEAD"
        case 0x53_4e4f_4954_504f: return "OPTIONS"
        default: return nil
        }
    }

    static func path(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let end = bytes.firstIndex(of: 63) ?? bytes.count  // ?
        return UnsafeBufferPointer(rebasing: bytes[..<end])
    }

    static func apply<Sink: ExtractedFieldsSink>(_ key: Key, _ value: UnsafeBufferPointer<UInt8>, to fields: inout Sink) {
        switch key {
        case .trace: if let id = hexID(value, count: 32) { fields.traceID = id }
        case .span: if let id = hexID(value, count: 16) { fields.spanID = id }
        case .traceparent:
            let parts = value.split(separator: 45)
            if parts.count == 4, let trace = hexID(UnsafeBufferPointer(rebasing: parts[1]), count: 32),
               let span = hexID(UnsafeBufferPointer(rebasing: parts[2]), count: 16) {
                fields.traceID = trace
                fields.spanID = span
            }
        case .status:
            if let status = integer(value), (100...599).contains(status) { fields.httpStatus = status }
        case .durationMs:
            if let ms = integer(value) { fields.durationNs = Int64(ms) * 1_000_000 }
            else if let ms = Double(String(decoding: value, as: UTF8.self)) { fields.durationNs = Int64(ms * 1_000_000) }
        case .duration:
            fields.durationNs = parseDuration(Substring(String(decoding: value, as: UTF8.self))) ?? fields.durationNs
        case .method:
            let upper = String(decoding: value, as: UTF8.self).uppercased()
            if methods.contains(where: { $0.elementsEqual(upper.utf8) }) { fields.httpMethod = upper }
        case .path:
            if value.first == 47 { fields.setURLPath(path(value)) }
        }
    }

    static func integer(_ value: UnsafeBufferPointer<UInt8>) -> Int? {
        // At most nine digits: no overflow to check.
        guard !value.isEmpty, value.count < 10 else { return nil }
        var n = 0
        for c in value {
            guard c &- 48 < 10 else { return nil }
            n = n &* 10 &+ Int(c &- 48)
        }
        return n
    }

    /// `12ms`, `1.5s`, `250us`, `3m`; a bare number is taken as seconds.
    static func parseDuration(_ text: Substring) -> Int64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1e9), ("m", 6e10)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)) { return Int64(value * factor) }
        }
        return Double(text).map { Int64($0 * 1e9) }
    }

    /// `count` (at most 32) hex digits, not all zero, in lower case; nil when `value` is not such an id.
    @inline(__always) static func hexID(_ value: UnsafeBufferPointer<UInt8>, count: Int) -> InlineText? {
        guard value.count == count, let base = value.baseAddress else { return nil }
        var valid: Int32 = 0
        let text = InlineText(count: count) { out in valid = logship_hex_lower(base, count, out) }
        return valid != 0 ? text : nil
    }

    /// `count` hex digits, not all zero (W3C: an all-zero trace or span id is invalid). One pass.
    static func isHex<C: Collection>(_ bytes: C, count: Int) -> Bool where C.Element == UInt8 {
        guard bytes.count == count else { return false }
        var allZero = true
        for c in bytes {
            // 0-9, or a-f / A-F (setting bit 5 lower-cases a letter and leaves digits as they are).
            guard c &- 48 < 10 || (c | 0x20) &- 97 < 6 else { return false }
            if c != 48 { allZero = false }
        }
        return !allZero
    }

    static func isHex(_ text: some StringProtocol, count: Int) -> Bool { isHex(text.utf8, count: count) }
}

/// A Python traceback inside a record: the message is the first line, the stack trace the rest,
/// and the exception type and message come from the last `Type: message` line.
public enum Traceback {
    public static func split(_ record: String) -> (message: String, stackTrace: String?, errorType: String?, errorMessage: String?) {
        guard let newline = record.utf8.firstIndex(of: 10) else { return (record, nil, nil, nil) }
        let message = String(record[..<newline])
        let rest = String(record[record.utf8.index(after: newline)...])
        let (type, text) = exception(in: rest)
        return (message, rest, type, text)
    }

    /// The final exception of a stack trace: the last non-indented `Name: message` line.
    public static func exception(in stackTrace: String) -> (String?, String?) {
        for line in stackTrace.split(separator: "\n").reversed() {
            guard let first = line.first, first != " ", first != "\t", !line.hasPrefix("Traceback") else { continue }
            if line.hasPrefix("During handling") || line.hasPrefix("The above exception") { continue }
            if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon]
                if !name.isEmpty, !name.contains(" ") {
                    return (String(name), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
            } else if !line.contains(" ") {
                return (String(line), nil)
            }
        }
        return (nil, nil)
    }
}
