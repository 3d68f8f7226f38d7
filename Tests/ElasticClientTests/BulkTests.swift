import ElasticClient
import Foundation
import Testing

@Suite struct BulkClassificationTests {
    @Test(arguments: [
        (201, BulkOutcome.created),
        (200, BulkOutcome.created),
        (409, BulkOutcome.alreadyExists),
        (429, BulkOutcome.retriable(status: 429, reason: "queue full")),
        (503, BulkOutcome.retriable(status: 503, reason: "queue full")),
        (400, BulkOutcome.rejected(status: 400, type: "mapper_parsing_exception", reason: "queue full")),
        (404, BulkOutcome.rejected(status: 404, type: "mapper_parsing_exception", reason: "queue full")),
    ])
    func classifiesEveryStatusClass(status: Int, expected: BulkOutcome) {
        #expect(BulkOutcome.classify(status: status, errorType: "mapper_parsing_exception", reason: "queue full") == expected)
    }

    @Test func parsesAMixedResponseInRequestOrder() throws {
        let body = """
        {"took":3,"errors":true,"items":[
          {"create":{"_index":"logs-a-2026.01.01","_id":"1","status":201}},
          {"create":{"_index":"logs-a-2026.01.01","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
          {"create":{"_index":"logs-a-2026.01.01","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}},
          {"create":{"_index":"logs-a-2026.01.01","_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [http.response.status_code]"}}}
        ]}
        """
        let results = try Bulk.parseResponse(Array(body.utf8))
        #expect(results.map(\.id) == ["1", "2", "3", "4"])
        #expect(results.map(\.outcome) == [
            .created, .alreadyExists, .retriable(status: 429, reason: "rejected"),
            .rejected(status: 400, type: "mapper_parsing_exception", reason: "failed to parse field [http.response.status_code]"),
        ])
        #expect(results.filter(\.outcome.isDone).count == 2)
    }

    @Test func garbageResponseIsADecodingError() {
        #expect(throws: ElasticError.self) { try Bulk.parseResponse(Array("<html>".utf8)) }
    }

    @Test func ndjsonBodyHasActionAndSourcePerItemAndEscapesIds() throws {
        let body = Bulk.body([
            BulkItem(index: "logs-a-2026.01.01", id: "a\"b", document: Array(#"{"message":"x"}"#.utf8)),
            BulkItem(index: "logs-a-2026.01.01", id: nil, document: Array(#"{"message":"y"}"#.utf8)),
        ])
        let lines = String(decoding: body, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5 && lines.last == "")
        let action = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: [String: String]]
        #expect(action?["create"]?["_id"] == "a\"b")
        #expect(lines[2] == #"{"create":{"_index":"logs-a-2026.01.01"}}"#)
    }

    @Test func backoffIsCappedAndJittered() {
        #expect(RetryPolicy.backoffMs(attempt: 0, random: 0.5) == 50)
        #expect(RetryPolicy.backoffMs(attempt: 3, random: 0.5) == 400)
        #expect(RetryPolicy.backoffMs(attempt: 30, random: 0.999) <= 30_000)
        #expect(RetryPolicy.backoffMs(attempt: 30, random: 0) == 0)
        #expect(RetryPolicy.isRetriable(status: 429) && RetryPolicy.isRetriable(status: 502) && !RetryPolicy.isRetriable(status: 400))
    }
}
