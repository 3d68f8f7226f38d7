/// Decoder for the consumer protocol's member assignment (version, [topic, [partition]], user data),
/// which ListGroups/DescribeGroups return as opaque bytes.
public enum MemberAssignment {
    public struct DecodingError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func decode(_ bytes: [UInt8]) throws -> [TopicPartition] {
        if bytes.isEmpty { return [] }
        var reader = Reader(bytes: bytes)
        _ = try reader.int16()  // version
        var result: [TopicPartition] = []
        let topicCount = try reader.int32()
        guard topicCount >= 0 else { return [] }
        for _ in 0..<topicCount {
            let nameLength = try reader.int16()
            let name = String(decoding: try reader.take(Int(nameLength)), as: UTF8.self)
            let partitionCount = try reader.int32()
            for _ in 0..<max(partitionCount, 0) {
                result.append(TopicPartition(name, try reader.int32()))
            }
        }
        return result.sorted()
    }

    struct Reader {
        let bytes: [UInt8]
        var position = 0

        mutating func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard count >= 0, position + count <= bytes.count else {
                throw DecodingError(description: "member assignment truncated at byte \(position) (wanted \(count) more of \(bytes.count))")
            }
            defer { position += count }
            return bytes[position..<position + count]
        }

        mutating func int16() throws -> Int16 {
            let s = try take(2)
            return Int16(bitPattern: UInt16(s[s.startIndex]) << 8 | UInt16(s[s.startIndex + 1]))
        }

        mutating func int32() throws -> Int32 {
            let s = try take(4)
            return Int32(bitPattern: s.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
    }
}
