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
