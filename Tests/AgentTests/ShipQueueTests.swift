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

/// Record buffers go back from the shipping thread to the reading thread and hold the next
/// records: same storage, exactly the new bytes, large ones not kept, all let go on `drop`.
@Suite struct RecordBuffersTests {
    static func storage(_ bytes: [UInt8]) -> UnsafeRawPointer? { bytes.withUnsafeBytes { $0.baseAddress } }

    @Test func buffersAreRefilledInPlaceWithExactlyTheNextRecord() {
        let buffers = RecordBuffers()
        let long = Array("2026-11-25 10:00:00,000 INFO [payment.api] GET /api/stock status=200".utf8)
        let short = Array("short line".utf8)
        var first = long.withUnsafeBufferPointer { buffers.make($0) }
        #expect(first == long)
        let place = Self.storage(first)
        buffers.giveBack([first])
        first = []
        #expect(buffers.spareCount == 1)
        // A shorter record in the same storage, nothing of the longer one left over; then a longer one again.
        var second = short.withUnsafeBufferPointer { buffers.make($0) }
        #expect(second == short && second.count == short.count)
        #expect(Self.storage(second) == place)
        buffers.giveBack([second])
        second = []
        let third = long.withUnsafeBufferPointer { buffers.make($0) }
        #expect(third == long && Self.storage(third) == place)
        // None spare: a new buffer.
        let fourth = short.withUnsafeBufferPointer { buffers.make($0) }
        #expect(fourth == short && Self.storage(fourth) != place)
    }

    @Test func largeBuffersAreNotKeptAndDropLetsAllGo() {
        let buffers = RecordBuffers()
        let traceback = [UInt8](repeating: 65, count: RecordBuffers.maxCapacity * 4)
        buffers.giveBack([traceback, Array("a line".utf8), Array("another".utf8)])
        #expect(buffers.spareCount == 2)
        _ = Array("x".utf8).withUnsafeBufferPointer { buffers.make($0) }
        #expect(buffers.spareCount == 1)
        buffers.drop()
        #expect(buffers.spareCount == 0)
    }
}
