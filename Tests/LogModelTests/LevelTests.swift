@testable import LogModel
import Testing

/// `Level(bytes:)` reads Python's level names by packed comparison and the rest through the
/// table: both paths give what the table alone gives, in every case and for near misses.
struct LevelTests {
    @Test func packedNamesAgreeWithTheTable() {
        var words = Level.spellings.map { String(decoding: $0.0, as: UTF8.self) }
        words += words.map { $0.lowercased() } + words.map { $0.prefix(1) + $0.dropFirst().lowercased() }
        words += ["INFOX", "INF0", "ERRORS", "WARNINGS", "DEBUGGER", "CRITICALS", "info ", " INFO", "WARNIN", "CRITICA", "iNfO", "ЁRROR", "", "x"]
        var g = SplitMix(seed: 3)
        let letters = Array("EINFORWAGDBUCTL_ 9".utf8)
        words += (0..<2_000).map { _ in String(decoding: (0..<Int(4 + g.next() % 5)).map { _ in letters[Int(g.next() % UInt64(letters.count))] }, as: UTF8.self) }
        var disagreements: [String] = []
        for word in words {
            let bytes = Array(word.utf8)
            let fast = bytes.withUnsafeBufferPointer { Level(bytes: $0) }, table = bytes.withUnsafeBufferPointer { Level(spelling: $0) }
            if fast != table { disagreements.append(word) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
        #expect(Array("Warning".utf8).withUnsafeBufferPointer { Level(bytes: $0) } == .warn)
        #expect(Array("critical".utf8).withUnsafeBufferPointer { Level(bytes: $0) } == .critical)
    }
}
