/// A short UTF-8 text held inside the value itself: the agent's per-line texts (the formatted
/// `@timestamp`, the trace and span ids, the event id: 16–32 bytes) without a heap allocation,
/// a reference count or a release each; a plain value, copied as bytes. Swift's `String` keeps
/// only up to 15 bytes inline.
public struct InlineText: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Bytes held at most.
    public static let capacity = 32
    // (Visible to the inlined accessors below: other modules' per-line code calls them.)
    @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline var length = 0

    /// Nil when `text` is longer than `capacity` bytes.
    public init?(_ text: String) {
        let count = text.utf8.count
        guard count <= Self.capacity else { return nil }
        var text = text
        self = text.withUTF8 { bytes in InlineText(count: count) { out in out.update(from: bytes.baseAddress!, count: count) } }
    }

    /// A literal (at most `capacity` bytes).
    public init(stringLiteral value: String) {
        guard let text = InlineText(value) else { preconditionFailure("InlineText literal longer than \(Self.capacity) bytes") }
        self = text
    }

    /// `count` (≤ `capacity`) bytes written by `body`.
    @inlinable
    public init(count: Int, _ body: (UnsafeMutablePointer<UInt8>) -> Void) {
        precondition(count >= 0 && count <= Self.capacity, "InlineText holds at most \(Self.capacity) bytes")
        length = count
        withUnsafeMutableBytes(of: &words) { raw in body(raw.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    @inlinable public var utf8Count: Int { length }

    /// Lets `body` change the bytes held (the count stays).
    @inlinable
    public mutating func update(_ body: (UnsafeMutablePointer<UInt8>) -> Void) {
        withUnsafeMutableBytes(of: &words) { raw in body(raw.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
    }

    /// (The buffer starts a copy of the whole 32-byte storage: `logship_json_quote32` reads it all.)
    @inlinable
    public func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        var words = self.words
        let count = length
        return try withUnsafeBytes(of: &words) { raw in
            try body(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }

    public var description: String { withUTF8 { String(decoding: $0, as: UTF8.self) } }

    public static func == (a: InlineText, b: InlineText) -> Bool {
        a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
