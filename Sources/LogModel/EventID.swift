import CByteScan
/// `event.id`: 32 lowercase hex characters, a stable hash of (host, file identity, byte offset of
/// the record's first line). The same line read twice gets the same id, in any process, on any
/// run: the hash is FNV-1a (128 bits as two independent 64-bit lanes), not Swift's seeded Hasher.
public enum EventID {
    public static func make(host: String, fileIdentity: String, offset: Int64) -> String {
        var a = StableHash(seed: 0xcbf2_9ce4_8422_2325)
        var b = StableHash(seed: 0x84222325_cbf29ce4)
        for part in [host, "\u{1F}", fileIdentity, "\u{1F}", String(offset)] {
            a.add(part)
            b.add(part)
        }
        return hex(a.value) + hex(b.value ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The hash state after (host, file identity): ids of one file then cost only the offset's digits.
    public struct Prefix: Sendable {
        public let host: String
        public let fileIdentity: String
        let a: StableHash
        let b: StableHash

        public init(host: String, fileIdentity: String) {
            self.host = host
            self.fileIdentity = fileIdentity
            var a = StableHash(seed: 0xcbf2_9ce4_8422_2325)
            var b = StableHash(seed: 0x84222325_cbf29ce4)
            for part in [host, "\u{1F}", fileIdentity, "\u{1F}"] {
                a.add(part)
                b.add(part)
            }
            self.a = a
            self.b = b
        }

        /// Hashes the offset's decimal digits and writes 32 hex characters.
        public func id(offset: Int64) -> String { text(offset: offset).description }

        /// `id(offset:)` without a heap allocation (the agent makes one per line).
        public func text(offset: Int64) -> InlineText {
            var a = self.a, b = self.b
            if offset < 0 {
                for byte in String(offset).utf8 { a.add(byte); b.add(byte) }
            } else {
                // The digits right to left by the constant 10 (a multiplication; a division by a
                // variable power of ten costs tens of cycles), then hashed left to right.
                var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for Int64.max's 19
                withUnsafeMutableBytes(of: &digits) { out in
                    var rest = offset, k = 24
                    repeat {
                        k -= 1
                        out[k] = UInt8(truncatingIfNeeded: 48 + rest % 10)
                        rest /= 10
                    } while rest > 0
                    for index in k..<24 { a.add(out[index]); b.add(out[index]) }
                }
            }
            let high = a.value, low = b.value ^ 0x9e37_79b9_7f4a_7c15
            return InlineText(count: 32) { out in logship_hex_u64_pair(high, low, out) }
        }
    }

    /// `_id` for events without `event.id`: a hash of (topic, partition, offset).
    public static func make(topic: String, partition: Int32, offset: Int64) -> String {
        make(host: "kafka", fileIdentity: "\(topic)/\(partition)", offset: offset)
    }

    /// The lower-case hex digit of the low 4 bits (no table: no bounds check, no global).
    @inline(__always) static func hexDigit(_ value: UInt64) -> UInt8 {
        let d = UInt8(truncatingIfNeeded: value & 15)
        return d < 10 ? 48 + d : 87 + d
    }

    static func hex(_ value: UInt64) -> String {
        var out = [UInt8](repeating: 48, count: 16)
        var v = value
        for index in (0..<16).reversed() {
            out[index] = hexDigit(v)
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// 64-bit FNV-1a over bytes, with a chosen offset basis.
public struct StableHash: Sendable {
    public private(set) var value: UInt64

    public init(seed: UInt64 = 0xcbf2_9ce4_8422_2325) { value = seed }

    public mutating func add(_ string: String) {
        for byte in string.utf8 { add(byte) }
    }

    public mutating func add<C: Collection>(bytes: C) where C.Element == UInt8 {
        for byte in bytes { add(byte) }
    }

    /// The same over a buffer, compiled here (the generic one, called from another module, runs
    /// unspecialized: a witness call per byte).
    public mutating func add(bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes { add(byte) }
    }

    @inline(__always) public mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
    }

    public var hex: String { EventID.hex(value) }
}
