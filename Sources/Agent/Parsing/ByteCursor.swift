import Foundation
import LogModel

/// A read position in one line's bytes, for the format parsers of `SourceFormats` (no regex, no
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
