import Foundation
import LogModel
import Testing

/// `EventView` keeps the fields most lines leave unset in a shared box: it is still a value —
/// a copy written to leaves the original as it was — and encodes them as before.
struct EventViewTests {
    static func view(_ message: inout [UInt8], _ body: (inout EventView) -> Void) -> [String: Any] {
        message.withUnsafeBufferPointer { bytes in
            var view = EventView(timestamp: "2026-12-07T10:00:00.000Z", message: bytes, serviceName: "billing")
            body(&view)
            let out = OutputBuffer()
            view.encode(into: out)
            return (try? JSONSerialization.jsonObject(with: Data(out.bytes))) as? [String: Any] ?? [:]
        }
    }

    @Test func aCopyWrittenToLeavesTheOriginalAsItWas() {
        let message = Array("payment failed".utf8)
        message.withUnsafeBufferPointer { bytes in
            var original = EventView(timestamp: "2026-12-07T10:00:00.000Z", message: bytes, serviceName: "billing")
            original.errorType = "ValueError"
            original.labels = [("team", "payments")]
            var copy = original
            copy.errorType = "KeyError"
            copy.stackTrace = "Traceback (most recent call last):"
            copy.labels = []
            var facts = SourceFacts()
            facts.processName = "worker"
            copy.facts = facts
            #expect(original.errorType == "ValueError" && original.stackTrace == nil && original.facts == nil)
            #expect(original.labels.count == 1 && original.labels[0] == ("team", "payments"))
            #expect(copy.errorType == "KeyError" && copy.labels.isEmpty && copy.facts?.processName == "worker")
            // Set and cleared again: nothing left.
            var cleared = original
            cleared.errorType = nil
            cleared.labels = []
            #expect(cleared.errorType == nil && cleared.labels.isEmpty && original.errorType == "ValueError")
        }
        var again = Array("x".utf8)
        let json = Self.view(&again) { view in
            view.errorType = "ValueError"
            view.errorMessage = "bad"
            view.original = "raw line"
            view.urlPath = "/api/pay"
        }
        #expect((json["error"] as? [String: Any])?["type"] as? String == "ValueError")
        #expect((json["error"] as? [String: Any])?["message"] as? String == "bad")
        #expect((json["event"] as? [String: Any])?["original"] as? String == "raw line")
        #expect((json["url"] as? [String: Any])?["path"] as? String == "/api/pay")
        let plain = Self.view(&again) { _ in }
        #expect(plain["error"] == nil && plain["url"] == nil && plain["event"] == nil)
    }
}
