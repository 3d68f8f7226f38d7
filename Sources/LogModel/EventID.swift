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

    /// `_id` for events without `event.id`: a hash of (topic, partition, offset).
    public static func make(topic: String, partition: Int32, offset: Int64) -> String {
        make(host: "kafka", fileIdentity: "\(topic)/\(partition)", offset: offset)
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// 64-bit FNV-1a over bytes, with a chosen offset basis.
public struct StableHash {
    public private(set) var value: UInt64

    public init(seed: UInt64 = 0xcbf2_9ce4_8422_2325) { value = seed }

    public mutating func add(_ string: String) {
        for byte in string.utf8 { add(byte) }
    }

    public mutating func add<C: Collection>(bytes: C) where C.Element == UInt8 {
        for byte in bytes { add(byte) }
    }

    @inline(__always) mutating func add(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x100_0000_01b3
    }

    public var hex: String { EventID.hex(value) }
}
