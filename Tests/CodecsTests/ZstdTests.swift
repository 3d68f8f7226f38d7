import Codecs
import Testing

@Suite struct ZstdTests {
    @Test func roundTripsAndShrinksRepetitiveLogs() throws {
        let text = (0..<5_000).map { "2026-11-25 10:00:00,\($0 % 1000) INFO [payment] charge ok order=\($0)\n" }.joined()
        let input = Array(text.utf8)
        let packed = try Zstd.compress(input)
        #expect(packed.count * 5 < input.count)
        #expect(try Zstd.decompress(packed) == input)
    }

    @Test func concatenatedFramesDecodeAsOne() throws {
        let a = Array("first\n".utf8), b = Array("second\n".utf8)
        #expect(try Zstd.decompress(try Zstd.compress(a) + Zstd.compress(b)) == a + b)
    }

    @Test func truncatedInputIsReportedNotSilentlyShortened() throws {
        let packed = try Zstd.compress(Array(String(repeating: "x", count: 100_000).utf8))
        #expect(throws: Zstd.Error.self) { try Zstd.decompress(Array(packed.dropLast(3))) }
    }
}

@Suite struct ZstdPartialTests {
    /// Archive segments are written as a run of small frames, so a cut loses at most the frame it hits.
    @Test func aTruncatedRunOfFramesStillGivesTheFramesBeforeTheCut() throws {
        let chunks = (0..<4).map { chunk in Array((0..<5_000).map { "record \(chunk * 5_000 + $0)\n" }.joined().utf8) }
        let input = chunks.flatMap { $0 }
        let packed = try chunks.flatMap { try Zstd.compress($0) }
        let (prefix, error) = Zstd.decompressPartially(Array(packed.prefix(packed.count * 6 / 10)))
        #expect(error != nil)
        #expect(prefix.count >= chunks[0].count + chunks[1].count && prefix.count < input.count)
        #expect(Array(input.prefix(prefix.count)) == prefix)
        let whole = Zstd.decompressPartially(packed)
        #expect(whole.error == nil && whole.bytes == input)
    }
}
