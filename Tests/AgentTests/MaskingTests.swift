@testable import Agent
import Testing

@Suite struct MaskingTests {
    let masker = try! SecretMasker(customPatterns: ["ssn-\\d{3}-\\d{2}-\\d{4}"])

    @Test(arguments: [
        ("login ok password=hunter2 user=bob", "login ok password=[MASKED] user=bob"),
        ("db_password: 's3cr3t!' host=x", "db_password: '[MASKED]' host=x"),
        (#"{"password": "hunter2", "user": "bob"}"#, #"{"password": "[MASKED]", "user": "bob"}"#),
        ("pwd=abc&next=1", "pwd=[MASKED]&next=1"),
        ("access_token=eyJhbGciOi.x.y done", "access_token=[MASKED] done"),
        ("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer [MASKED]"),
        ("header authorization=Basic dXNlcjpwYXNz", "header authorization=Basic [MASKED]"),
        ("sent Bearer abc123def456 to upstream", "sent Bearer [MASKED] to upstream"),
        ("key AKIAIOSFODNN7EXAMPLE used", "key [MASKED] used"),
        ("card 4111 1111 1111 1111 ok", "card [MASKED] ok"),
        ("card 4111-1111-1111-1111", "card [MASKED]"),
        ("pan=5500000000000004", "pan=[MASKED]"),
        ("id ssn-123-45-6789 found", "id [MASKED] found"),
        ("login password=\"two words\" ok", "login password=\"[MASKED]\" ok"),
        (#"{"token": 12345, "n": 1}"#, #"{"token": "[MASKED]", "n": 1}"#),
        (#"{"db_password": 42}"#, #"{"db_password": "[MASKED]"}"#),
        (#"{"secret": "a\"b c", "n": 1}"#, #"{"secret": "[MASKED]", "n": 1}"#),
    ])
    func masksKnownSecrets(input: String, expected: String) {
        #expect(masker.mask(input).0 == expected)
    }

    @Test(arguments: [
        "order 4111111111111112 placed",        // fails Luhn
        "token bucket refilled",                 // a key word without a value
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
        "elapsed 1234567890123 ns",              // 13 digits, not Luhn-valid
        "author=jane",
    ])
    func leavesOrdinaryTextAlone(input: String) {
        #expect(masker.mask(input).0 == input)
        #expect(masker.mask(input).1 == 0)
    }

    @Test func luhn() {
        #expect(SecretMasker.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]))
        #expect(!SecretMasker.luhn([4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]))
    }
}

@Suite struct MultilineTests {
    func records(_ rule: MultilineRule, _ text: String) -> [Record] {
        var aggregator = MultilineAggregator(rule: rule)
        var out: [Record] = []
        var offset: Int64 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let end = offset + Int64(line.utf8.count) + 1
            if let record = aggregator.add(String(line), offset: offset, endOffset: end, now: 0) { out.append(record) }
            offset = end
        }
        if let last = aggregator.flush(now: 0, force: true) { out.append(last) }
        return out
    }

    @Test func pythonChainedTracebackWith311MarkersIsOneRecord() {
        let text = """
        2026-11-25 10:00:00,001 INFO [app] before
        2026-11-25 10:00:00,002 ERROR [app] failed
        Traceback (most recent call last):
          File "a.py", line 2, in f
            return d["k"]
                   ~^^^^^
        KeyError: 'k'

        During handling of the above exception, another exception occurred:

        Traceback (most recent call last):
          File "a.py", line 4, in g
            raise ValueError("bad")
        ValueError: bad
        2026-11-25 10:00:00,003 INFO [app] after
        """
        let result = records(.python, text)
        #expect(result.count == 3)
        #expect(result[1].text.hasSuffix("ValueError: bad"))
        #expect(result[1].text.contains("During handling"))
        #expect(result[1].offset == Int64("2026-11-25 10:00:00,001 INFO [app] before\n".utf8.count))
        #expect(result[2].text == "2026-11-25 10:00:00,003 INFO [app] after")
        #expect(result[1].endOffset == result[2].offset)
    }

    @Test func javaStackTrace() {
        let text = """
        2026-11-25 10:00:00 ERROR boom
        java.lang.IllegalStateException: x
        \tat a.B.c(B.java:1)
        Caused by: java.io.IOException: y
        \t... 3 more
        2026-11-25 10:00:01 INFO ok
        """
        let result = records(.java, text)
        // The exception's header line is not indented, yet it belongs to the record (as do `at` and `Caused by:`).
        #expect(result.count == 2)
        #expect(result[0].text.contains("java.lang.IllegalStateException: x") && result[0].text.contains("Caused by"))
        #expect(result[1].text == "2026-11-25 10:00:01 INFO ok")
    }

    @Test func customPatternNegateAfterLikeFilebeat() throws {
        let rule = MultilineRule.custom(pattern: try .init(pattern: "^\\["), negate: true, before: false)
        let result = records(rule, "[1] a\n  b\n  c\n[2] d")
        #expect(result.map(\.text) == ["[1] a\n  b\n  c", "[2] d"])
    }

    @Test func flushTimeoutReleasesTheLastRecord() {
        var aggregator = MultilineAggregator(rule: .python, timeoutMs: 1_000)
        #expect(aggregator.add("2026-11-25 10:00:00,001 INFO [a] x", offset: 0, endOffset: 35, now: 0) == nil)
        #expect(aggregator.flush(now: 999) == nil)
        #expect(aggregator.flush(now: 1_000)?.text == "2026-11-25 10:00:00,001 INFO [a] x")
    }

    /// The default wait (200 ms) for a finished-looking record, the longer one (1 s) while a
    /// traceback lacks its `Type: message` line, a PEM key block is open or a container line was partial.
    @Test func anUnfinishedRecordWaitsLongerThanAFinishedOne() {
        var plain = MultilineAggregator(rule: .python)
        #expect(plain.add("2026-11-25 10:00:00,001 INFO [a] x", offset: 0, endOffset: 35, now: 0) == nil)
        #expect(plain.flush(now: 199) == nil)
        #expect(plain.flush(now: 200)?.text == "2026-11-25 10:00:00,001 INFO [a] x")

        var traceback = MultilineAggregator(rule: .python)
        let lines = ["2026-11-25 10:00:00,001 ERROR [a] failed", "Traceback (most recent call last):",
                     "  File \"app.py\", line 3, in <module>", "ValueError: bad"]
        for (index, line) in lines.enumerated() {
            #expect(traceback.add(line, offset: Int64(index * 50), endOffset: Int64(index * 50 + 50), now: 0) == nil)
            // From `Traceback…` until its last line the record is held for the longer wait.
            if index > 0 && index < lines.count - 1 {
                #expect(traceback.flush(now: 999) == nil)
            }
        }
        #expect(traceback.flush(now: 200)?.text == lines.joined(separator: "\n"))

        var open = MultilineAggregator(rule: .python, timeoutMs: 50)
        _ = open.add("2026-11-25 10:00:00,001 ERROR [a] failed", offset: 0, endOffset: 40, now: 0)
        _ = open.add("Traceback (most recent call last):", offset: 40, endOffset: 75, now: 0)
        #expect(open.flush(now: 999) == nil)
        #expect(open.flush(now: 1_000)?.text.hasSuffix("Traceback (most recent call last):") == true)

        var key = MultilineAggregator(rule: .none)
        _ = key.add("-----BEGIN RSA PRIVATE KEY-----", offset: 0, endOffset: 32, now: 0)
        #expect(key.flush(now: 999) == nil)
        #expect(key.flush(now: 1_000) != nil)

        var container = MultilineAggregator(rule: .container)
        _ = container.add("2026-11-25T10:00:00.000000001Z stdout P half a li", offset: 0, endOffset: 50, now: 0)
        #expect(container.flush(now: 999) == nil)
        #expect(container.flush(now: 1_000) != nil)
    }

    @Test func maxLinesTruncatesAndFlags() {
        var aggregator = MultilineAggregator(rule: .python, maxLines: 3)
        _ = aggregator.add("2026-11-25 10:00:00,001 ERROR [a] x", offset: 0, endOffset: 10, now: 0)
        for index in 0..<10 { _ = aggregator.add("  frame \(index)", offset: 10, endOffset: 20, now: 0) }
        let record = aggregator.flush(now: 0, force: true)
        #expect(record?.text.split(separator: "\n").count == 3)
        #expect(record?.tags == ["multiline_truncated"])
        #expect(record?.endOffset == 20)
    }
}

@Suite struct AckTrackerTests {
    @Test func advancesOnlyOverAGapFreePrefix() {
        let tracker = AckTracker(startOffset: 100)
        let a = tracker.register(endOffset: 110)
        let b = tracker.register(endOffset: 120)
        let c = tracker.register(endOffset: 130)
        tracker.ack(c)
        #expect(tracker.committedOffset == 100)
        tracker.ack(a)
        #expect(tracker.committedOffset == 110)
        tracker.ack(b)
        #expect(tracker.committedOffset == 130)
        #expect(tracker.pendingCount == 0)
    }

    @Test func survivesCompactionOverManyRecords() {
        let tracker = AckTracker(startOffset: 0)
        let sequences = (1...20_000).map { tracker.register(endOffset: Int64($0 * 10)) }
        for sequence in sequences.reversed() where sequence % 2 == 0 { tracker.ack(sequence) }
        #expect(tracker.committedOffset == 10)  // sequence 0 is even: acked; sequence 1 holds the rest back
        for sequence in sequences where sequence % 2 == 1 { tracker.ack(sequence) }
        #expect(tracker.committedOffset == 200_000)
    }
}
