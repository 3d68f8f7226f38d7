/// A short UTF-8 text held inside the value itself: the agent's per-line texts (the formatted
/// `@timestamp`, the trace id, the event id: 24–32 bytes) without a heap allocation, a
/// reference count or a release each. Swift's `String` keeps only up to 15 bytes inline.
/// Longer texts (a `host|file` key, an odd timestamp of a parsed record) are kept as a `String`.
public struct InlineText: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Bytes held inline.
    public static let capacity = 32
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var length = 0
    private var long: String?

    public init(_ text: String) {
        let count = text.utf8.count
        guard count <= Self.capacity else { long = text; length = count; return }
        var text = text
        text.withUTF8 { bytes in
            self = InlineText(count: count) { out in out.update(from: bytes.baseAddress!, count: count) }
        }
    }

    public init(stringLiteral value: String) { self.init(value) }

    /// `count` (≤ `capacity`) bytes written by `body`.
    @inline(__always)
    public init(count: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Void) {
        precondition(count >= 0 && count <= Self.capacity, "InlineText holds at most \(Self.capacity) bytes")
        length = count
        withUnsafeMutableBytes(of: &words) { raw in body(raw.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    public var utf8Count: Int { length }

    @inline(__always)
    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if var long { return try long.withUTF8(body) }
        var words = self.words
        let count = length
        return try withUnsafeBytes(of: &words) { raw in
            try body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }

    public var description: String {
        if let long { return long }
        return withUTF8 { String(decoding: $0, as: UTF8.self) }
    }

    public static func == (a: InlineText, b: InlineText) -> Bool {
        a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
