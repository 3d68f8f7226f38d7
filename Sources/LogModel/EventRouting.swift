/// The two fields the indexer routes by (`@timestamp` and `event.id`), read from an event's
/// JSON in one pass over its bytes, with the whole document checked to be valid JSON (RFC 8259
/// grammar). Foundation's JSONSerialization builds every value as an object; this builds none.
/// A string value with escapes is reported as `escaped`, for the caller to decode properly.
public struct EventRouting: Equatable, Sendable {
    public enum Field: Equatable, Sendable {
        case absent
        case string(String)
        /// Present, but not a plain string (a number, an object, a string with escapes).
        case other
    }

    public var timestamp: Field = .absent
    public var eventID: Field = .absent

    /// Nil when the bytes are not one JSON object (with nothing but whitespace around it).
    public static func scan(_ bytes: UnsafeRawBufferPointer) -> EventRouting? {
        var scanner = Scanner(bytes: bytes.bindMemory(to: UInt8.self))
        var routing = EventRouting()
        scanner.skipSpace()
        guard scanner.peek == UInt8(ascii: "{"), scanner.object(depth: 0, path: .top, into: &routing) else { return nil }
        scanner.skipSpace()
        return scanner.atEnd ? routing : nil
    }

    public static func scan(_ bytes: [UInt8]) -> EventRouting? {
        bytes.withUnsafeBytes { scan($0) }
    }

    /// Where in the document the scanner is, as far as routing cares.
    enum Path { case top, event, elsewhere }

    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0
        static let maxDepth = 512

        var atEnd: Bool { position >= bytes.count }
        var peek: UInt8 { position < bytes.count ? bytes[position] : 0 }

        mutating func skipSpace() {
            while position < bytes.count {
                let c = bytes[position]
                guard c == 32 || c == 9 || c == 10 || c == 13 else { return }
                position += 1
            }
        }

        mutating func expect(_ c: UInt8) -> Bool {
            guard peek == c else { return false }
            position += 1
            return true
        }

        mutating func object(depth: Int, path: Path, into routing: inout EventRouting) -> Bool {
            guard depth < Self.maxDepth, expect(UInt8(ascii: "{")) else { return false }
            skipSpace()
            if expect(UInt8(ascii: "}")) { return true }
            while true {
                skipSpace()
                guard let key = string() else { return false }
                skipSpace()
                guard expect(UInt8(ascii: ":")) else { return false }
                skipSpace()
                let valueStart = position
                let target = field(key, path: path)
                let next: Path = path == .top && matches(key, "event") ? .event : .elsewhere
                guard value(depth: depth + 1, path: next, into: &routing) else { return false }
                if let target { record(target, from: valueStart, into: &routing) }
                skipSpace()
                if expect(UInt8(ascii: "}")) { return true }
                guard expect(UInt8(ascii: ",")) else { return false }
            }
        }

        enum Target { case timestamp, eventID }

        func field(_ key: Range<Int>, path: Path) -> Target? {
            switch path {
            case .top where matches(key, "@timestamp"): return .timestamp
            case .top where matches(key, "event.id"), .event where matches(key, "id"): return .eventID
            default: return nil
            }
        }

        func record(_ target: Target, from start: Int, into routing: inout EventRouting) {
            var result = EventRouting.Field.other
            if bytes[start] == UInt8(ascii: "\"") {
                let inner = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<(position - 1)])
                if !inner.contains(UInt8(ascii: "\\")) { result = .string(String(decoding: inner, as: UTF8.self)) }
            }
            switch target {
            case .timestamp: routing.timestamp = result
            case .eventID: routing.eventID = result
            }
        }

        func matches(_ key: Range<Int>, _ name: StaticString) -> Bool {
            guard key.count == name.utf8CodeUnitCount else { return false }
            for k in 0..<key.count where bytes[key.lowerBound + k] != name.utf8Start[k] { return false }
            return true
        }

        mutating func value(depth: Int, path: Path, into routing: inout EventRouting) -> Bool {
            switch peek {
            case UInt8(ascii: "{"): return object(depth: depth, path: path, into: &routing)
            case UInt8(ascii: "["): return array(depth: depth, into: &routing)
            case UInt8(ascii: "\""): return string() != nil
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func array(depth: Int, into routing: inout EventRouting) -> Bool {
            guard depth < Self.maxDepth, expect(UInt8(ascii: "[")) else { return false }
            skipSpace()
            if expect(UInt8(ascii: "]")) { return true }
            while true {
                skipSpace()
                guard value(depth: depth + 1, path: .elsewhere, into: &routing) else { return false }
                skipSpace()
                if expect(UInt8(ascii: "]")) { return true }
                guard expect(UInt8(ascii: ",")) else { return false }
            }
        }

        /// A string; returns the range of its contents (escapes left as they are).
        mutating func string() -> Range<Int>? {
            guard expect(UInt8(ascii: "\"")) else { return nil }
            let start = position
            while position < bytes.count {
                let c = bytes[position]
                if c == UInt8(ascii: "\"") {
                    position += 1
                    return start..<(position - 1)
                }
                if c < 0x20 { return nil }
                if c == UInt8(ascii: "\\") {
                    guard position + 1 < bytes.count else { return nil }
                    switch bytes[position + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        position += 2
                    case UInt8(ascii: "u"):
                        guard position + 5 < bytes.count else { return nil }
                        for k in 2...5 where !Self.isHexDigit(bytes[position + k]) { return nil }
                        position += 6
                    default: return nil
                    }
                    continue
                }
                position += 1
            }
            return nil
        }

        static func isHexDigit(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard position + count <= bytes.count else { return false }
            for k in 0..<count where bytes[position + k] != word.utf8Start[k] { return false }
            position += count
            return true
        }

        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
        mutating func number() -> Bool {
            _ = expect(UInt8(ascii: "-"))
            if expect(48) {
                // a leading zero stands alone
            } else {
                guard digits() else { return false }
            }
            if expect(UInt8(ascii: ".")) { guard digits() else { return false } }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                position += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
                guard digits() else { return false }
            }
            return true
        }

        mutating func digits() -> Bool {
            let start = position
            while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57 { position += 1 }
            return position > start
        }
    }
}
