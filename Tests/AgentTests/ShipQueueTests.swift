@testable import Agent
import Foundation
import Synchronization
import Testing

/// The hand-off between the agent's reading and shipping threads: order kept, bounded, closable.
@Suite struct ShipQueueTests {
    @Test func keepsOrderAcrossThreadsAndMakesTheWriterWaitAtCapacity() {
        let queue = ShipQueue<Int>(capacity: 2)
        let written = Atomic<Int>(0)
        let writer = Thread {
            for start in stride(from: 0, to: 1_000, by: 10) {
                queue.put(Array(start..<start + 10))
                written.add(1, ordering: .relaxed)
            }
            queue.close()
        }
        writer.start()
        // Nothing taken yet: the writer stops after two batches (it waits in the third put).
        while written.load(ordering: .relaxed) < 2 { Thread.sleep(forTimeInterval: 0.001) }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(written.load(ordering: .relaxed) == 2)
        var items: [Int] = []
        while !queue.isFinished {
            if let batch = queue.take(timeout: 0.05) { items += batch }
        }
        #expect(items == Array(0..<1_000))
    }

    @Test func takeTimesOutEmptyAndFinishesOnlyOnceDrained() {
        let queue = ShipQueue<String>(capacity: 1)
        #expect(queue.take(timeout: 0.01) == nil)
        queue.put(["a"])
        queue.close()
        #expect(!queue.isFinished, "a batch is still queued")
        #expect(queue.take(timeout: 0.01) == ["a"])
        #expect(queue.isFinished)
    }
}
