import Foundation
import LogModel
import Testing

@Suite struct EventRoutingTests {
    @Test func findsTimestampAndNestedOrFlatEventID() throws {
        let nested = try #require(EventRouting.scan(Array(#"{"message":"x {\"a\":1}","@timestamp":"2026-11-25T10:00:00.000Z","event":{"duration":5,"id":"abc"},"n":[1,2.5e-3,{"id":"no"}]}"#.utf8)))
        #expect(nested.timestamp == .string("2026-11-25T10:00:00.000Z"))
        #expect(nested.eventID == .string("abc"))
        let flat = try #require(EventRouting.scan(Array(#" {"event.id": "f", "@timestamp": 17} "#.utf8)))
        #expect(flat.eventID == .string("f"))
        #expect(flat.timestamp == .other)
        let none = try #require(EventRouting.scan(Array(#"{"labels":{"event":{"id":"deep"}},"id":"top"}"#.utf8)))
        #expect(none.eventID == .absent && none.timestamp == .absent)
        #expect(EventRouting.scan(Array(#"{"@timestamp":"a\"b"}"#.utf8))?.timestamp == .other)
    }

    /// Valid and invalid documents judged the same as Foundation's parser (the oracle).
    @Test(arguments: [
        #"{}"#, #"{"a":[]}"#, #"{"a":[true,false,null,-0,0.5,1E+2,"\u00e9\n"]}"#, #"{"a":{"b":{"c":[[]]}}}"#,
        #"{"a" 1}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":"x\q"}"#, #"{"a":tru}"#, #"[1,2]"#, #"{"a":1} x"#,
        #"{"a":"unterminated}"#, "{\"a\":\"tab\there\"}", #"{"a":-}"#, #"{"a":1e}"#, "", "not json",
    ])
    func agreesWithFoundationOnValidity(document: String) {
        let foundation = (try? JSONSerialization.jsonObject(with: Data(document.utf8))) as? [String: Any]
        #expect((EventRouting.scan(Array(document.utf8)) != nil) == (foundation != nil), "\(document)")
    }

    /// Foundation here accepts a trailing comma; RFC 8259 and Elasticsearch do not.
    @Test func trailingCommasAreInvalid() {
        #expect(EventRouting.scan(Array(#"{"a":1,}"#.utf8)) == nil)
        #expect(EventRouting.scan(Array(#"{"a":[1,]}"#.utf8)) == nil)
    }
}
