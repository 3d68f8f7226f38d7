import KafkaClient
import Testing

@Suite struct MemberAssignmentTests {
    /// version 0, one topic "logs.a" with partitions 2 and 0, empty user data.
    let encoded: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 6] + Array("logs.a".utf8) + [0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 255, 255, 255, 255]

    @Test func decodesTopicsAndPartitionsSorted() throws {
        #expect(try MemberAssignment.decode(encoded) == [TopicPartition("logs.a", 0), TopicPartition("logs.a", 2)])
    }

    @Test func emptyAssignmentIsNoPartitions() throws {
        #expect(try MemberAssignment.decode([]).isEmpty)
    }

    @Test func truncatedAssignmentThrows() {
        #expect(throws: MemberAssignment.DecodingError.self) { try MemberAssignment.decode(Array(encoded.prefix(12))) }
    }
}
