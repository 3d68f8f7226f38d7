import KafkaClient
import Testing

/// The pause/resume state machine, one case per path of the indexer that waits: every pause
/// made in a wait has its resume when the wait ends, for the partitions still assigned.
@Suite struct PartitionPausesTests {
    let p0 = TopicPartition("logs.payment", 0)
    let p1 = TopicPartition("logs.payment", 1)
    let p2 = TopicPartition("logs.orders", 0)

    func assigned(_ partitions: [TopicPartition]) -> PartitionPauses {
        var pauses = PartitionPauses()
        #expect(pauses.assigned(partitions) == [.resume(partitions)])
        return pauses
    }

    /// Index creation (and the dead-letter wait): polls that keep the membership receive records;
    /// each partition is rewound to its first one and held, and resumed when the wait ends. The
    /// old helper paused here and nothing resumed: the indexer stalled for good.
    @Test func recordsPolledDuringAWaitAreRewoundHeldAndResumedWhenItEnds() {
        var pauses = assigned([p0, p1, p2])
        pauses.beginWait()
        #expect(pauses.polledDuringWait(firstOffsets: [p1: 40, p0: 7]) == [.seek(p0, 7), .seek(p1, 40), .pause([p0, p1])])
        #expect(pauses.state(of: p0) == .held)
        // Polled again while held (records prefetched before the pause): rewound, not paused twice.
        #expect(pauses.polledDuringWait(firstOffsets: [p0: 9]) == [.seek(p0, 9)])
        #expect(pauses.endWait() == [.resume([p0, p1])])
        #expect(pauses.state(of: p0) == .fetching && pauses.state(of: p1) == .fetching && pauses.state(of: p2) == .fetching)
    }

    /// A bulk that must be retried holds the whole assignment; a write that succeeds first time holds nothing.
    @Test func aRetriedBulkHoldsEverythingUntilTheWriteEnds() {
        var pauses = assigned([p0, p1])
        pauses.beginWait()
        #expect(pauses.endWait() == [], "a write without retries pauses and resumes nothing")
        pauses.beginWait()
        #expect(pauses.holdAll() == [.pause([p0, p1])])
        #expect(pauses.holdAll() == [], "each retry holds again: already held")
        #expect(pauses.endWait() == [.resume([p0, p1])])
    }

    /// Dead letters are written inside the batch write: the inner wait's end resumes nothing, the
    /// outer one resumes what either held.
    @Test func nestedWaitsResumeAtTheOutermostEnd() {
        var pauses = assigned([p0, p1])
        pauses.beginWait()
        #expect(pauses.holdAll() == [.pause([p0, p1])])
        pauses.beginWait()
        #expect(pauses.polledDuringWait(firstOffsets: [p0: 3]) == [.seek(p0, 3)])
        #expect(pauses.endWait() == [])
        #expect(pauses.state(of: p0) == .held)
        #expect(pauses.endWait() == [.resume([p0, p1])])
        #expect(pauses.waits == 0)
    }

    /// Revoked during a wait: forgotten, never resumed (another member owns it now). Assigned
    /// during a wait: fetching at once; held only if a poll hands out its records.
    @Test func rebalancesDuringAWaitTouchOnlyWhatIsStillOwned() {
        var pauses = assigned([p0, p1])
        pauses.beginWait()
        #expect(pauses.holdAll() == [.pause([p0, p1])])
        pauses.revoked([p1])
        #expect(pauses.state(of: p1) == nil)
        #expect(pauses.assigned([p2]) == [.resume([p2])])
        #expect(pauses.polledDuringWait(firstOffsets: [p2: 0, p1: 5]) == [.seek(p2, 0), .pause([p2])],
                "records of a partition no longer owned are not rewound")
        #expect(pauses.endWait() == [.resume([p2, p0])], "sorted: logs.orders before logs.payment")
    }

    /// The idle backoff (end of partition) never resumes a held partition, and holding an idle
    /// one needs no second pause; the wait's end resumes it.
    @Test func idleBackoffAndHoldsDoNotUndoEachOther() {
        var pauses = assigned([p0, p1])
        let t0 = ContinuousClock.now
        #expect(pauses.reachedEnd(p0, at: t0) == [.pause([p0])])
        #expect(pauses.reachedEnd(p0, at: t0) == [], "already idle")
        #expect(pauses.idleDue(at: t0 + .milliseconds(100), backoff: .milliseconds(200)) == [])
        pauses.beginWait()
        #expect(pauses.holdAll() == [.pause([p1])], "p0 is paused already")
        #expect(pauses.idleDue(at: t0 + .seconds(1), backoff: .milliseconds(200)) == [], "held beats idle")
        #expect(pauses.reachedEnd(p1, at: t0) == [], "a held partition does not go idle")
        #expect(pauses.endWait() == [.resume([p0, p1])])
        #expect(pauses.reachedEnd(p1, at: t0) == [.pause([p1])])
        #expect(pauses.idleDue(at: t0 + .milliseconds(250), backoff: .milliseconds(200)) == [.resume([p1])])
    }

    /// The test hook's pause outside any wait is what the watchdog must catch: no wait's end
    /// resumes it; a new assignment does.
    @Test func aLeakedHoldStaysUntilReassigned() {
        var pauses = assigned([p0, p1])
        #expect(pauses.leakHold([p0]) == [.pause([p0])])
        #expect(pauses.leaked == [p0])
        pauses.beginWait()
        #expect(pauses.endWait() == [])
        #expect(pauses.state(of: p0) == .held)
        #expect(pauses.assigned([p0]) == [.resume([p0])])
        #expect(pauses.leaked.isEmpty && pauses.state(of: p0) == .fetching)
    }
}
