@testable import Agent
import Testing

/// The idle agent gives the heap of its last burst back once per quiet spell: not while reading,
/// not while Kafka still holds messages of it, not again until the next burst.
@Suite struct IdleTrimTests {
    @Test func trimsOncePerQuietSpellAndNeverWithMessagesInFlight() {
        var trim = IdleTrim(quietMs: 2_000, now: 0)
        // (time, read something, messages in flight) → trims this turn
        let turns: [(now: Int64, didRead: Bool, inFlight: Int, trims: Bool)] = [
            (1_999, false, 0, false),  // not quiet long enough
            (2_000, false, 0, true),
            (5_000, false, 0, false),  // once per quiet spell
            (6_000, true, 0, false),   // a burst: reading,
            (7_000, false, 300, false),  // then its messages in flight,
            (8_500, false, 0, false),  // 2 s counted from the last message in flight, not the read
            (9_000, false, 0, true),
            (9_050, false, 0, false),
        ]
        for turn in turns {
            let trims = trim.shouldTrim(now: turn.now, didRead: turn.didRead, inFlight: turn.inFlight)
            #expect(trims == turn.trims, "at \(turn.now) ms")
        }
    }
}

extension IdleTrimTests {
    /// The warm-up's end is told once, at the first turn a second after the start.
    @Test func warmUpEndsOnceASecondIn() {
        var trim = IdleTrim(now: 10_000)
        let told = [10_999, 11_050, 12_000].map { trim.warmUpEnded(now: Int64($0)) }
        #expect(told == [false, true, false])
    }
}

/// Releasing the code pages unmaps this process's resident read-only file pages (the test
/// binary's code and its libraries'), never a page it wrote (relocated data, heap): the file
/// part of the resident set drops, and what runs next, here a masking, maps its code again and
/// works as before.
@Suite(.serialized) struct CodePagesTests {
    static func residentKB(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
    }

    @Test func releasingCodePagesLowersFilePagesAndTheProcessRunsOn() throws {
        let masker = try SecretMasker()
        let line = Array("2026-11-25 10:00:00,000 INFO [a] login password=hunter2 status=200".utf8)
        let before = masker.mask(bytes: line)
        let fileBefore = Self.residentKB("RssFile")
        let released = IdleTrim.releaseCodePages()
        let fileAfter = Self.residentKB("RssFile")
        #expect(released > 0)
        #expect(fileBefore > 0 && fileAfter < fileBefore, "RssFile \(fileBefore) -> \(fileAfter) kB")
        // Nothing written was dropped (the masker's tables, the heap): it masks as before.
        let after = masker.mask(bytes: line)
        #expect(after.0 == before.0 && after.1 == 1)
        #expect(String(decoding: after.0, as: UTF8.self).contains("password=[MASKED]"))
    }
}
