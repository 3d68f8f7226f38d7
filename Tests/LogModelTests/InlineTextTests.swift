import Foundation
import LogModel
import Testing

/// The agent's per-line texts are held inline (no allocation per line); an event whose texts do
/// not fit is still encoded whole.
struct InlineTextTests {
    @Test func aTextUpToThirtyTwoBytesIsHeldAndReadBackLongerIsRefused() {
        let id = "a6cecc1b78e510617311d8a3c2ce6f44"
        #expect(InlineText(id)?.description == id)
        #expect(InlineText(id)?.utf8Count == 32)
        #expect(InlineText("") == "")
        #expect(InlineText(id + "0") == nil)
        #expect(InlineText("2026-11-25T10:00:00.000Z") == Timestamps.text(epochMillis: 1_795_600_800_000))
        #expect(Timestamps.format(epochMillis: 1_795_600_800_000) == "2026-11-25T10:00:00.000Z")
    }

    @Test func anEventWithTextsLongerThanAnInlineTextIsEncodedWhole() throws {
        var event = LogEvent(timestamp: "2026-11-25T10:00:00.123456789+05:30", message: "m", serviceName: "s")
        event.eventID = String(repeating: "e", count: 40)
        event.traceID = String(repeating: "t", count: 33)
        event.spanID = "0123456789abcdef"
        let json = try #require(JSONSerialization.jsonObject(with: Data(event.encoded())) as? [String: Any])
        #expect(json["@timestamp"] as? String == "2026-11-25T10:00:00.123456789+05:30")
        #expect((json["event"] as? [String: Any])?["id"] as? String == String(repeating: "e", count: 40))
        #expect((json["trace"] as? [String: Any])?["id"] as? String == String(repeating: "t", count: 33))
        #expect((json["span"] as? [String: Any])?["id"] as? String == "0123456789abcdef")
    }

    @Test(arguments: [Int64.min, Int64.min + 1, -1234, -100, -1, 0, 7, 9, 10, 11, 99, 100, 101, 999, 1000, 12_345, 100_000,
                      1_015_000_000, 999_999_999_999, 1_000_000_000_000_000_000, Int64.max - 1, Int64.max])
    func decimalsAreWrittenAsTheyAre(value: Int64) throws {
        var event = LogEvent(timestamp: "2026-11-25T10:00:00.000Z", message: "m", serviceName: "s")
        event.durationNs = value
        event.level = .warn
        let text = String(decoding: event.encoded(), as: UTF8.self)
        #expect(text.contains(#""duration":\#(value)}"#), "\(text)")
        #expect(text.contains(#""log":{"level":"WARN"}"#), "\(text)")
    }
}

/// `@timestamp` texts agree with Foundation's calendar on any millisecond from 1900 to 2400.
struct TimestampTextTests {
    @Test func textsMatchFoundationsFormatting() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.calendar = Calendar(identifier: .gregorian)
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        var random = SystemRandomNumberGenerator()
        let edges: [Int64] = [0, -1, 999, 1000, 86_399_999, 951_782_400_000, 951_868_799_999, 4_102_444_800_000, -2_208_988_800_000,
                              13_569_465_599_999, 1_795_600_800_123]
        let samples = edges + (0..<5_000).map { _ in Int64.random(in: -2_208_988_800_000...13_569_465_599_999, using: &random) }
        for millis in samples {
            // Foundation's Date is a Double of seconds: compare at whole milliseconds.
            let date = Date(timeIntervalSince1970: Double(millis) / 1000 + 0.0000001)
            #expect(Timestamps.text(epochMillis: millis).description == formatter.string(from: date), "\(millis)")
        }
    }

    /// The per-second cache of Python `asctime` times gives what the general path gives, line
    /// after line (hits within a second, misses across them), in zones with daylight-saving edges
    /// (the repeated and the skipped hour), and leaves every other shape to the general path.
    @Test func pythonSecondCacheAgreesWithTheGeneralPath() throws {
        var random = SystemRandomNumberGenerator()
        for name in ["UTC", "America/New_York", "Europe/London", "Asia/Shanghai", "Australia/Lord_Howe", "+05:30"] {
            let zone = try #require(ZoneRule(named: name))
            var cache = PythonSecondCache()
            // Runs of lines through the days around both of New York's 2026 changes, a second
            // apart or several lines in one second, and random times.
            var texts: [String] = []
            for start in ["2026-03-08 01:59:58", "2026-11-01 00:59:59", "2026-11-01 01:30:00", "2026-04-05 01:59:59", "2026-12-31 23:59:59"] {
                for k in 0..<4 { texts.append("\(start),\(String(format: "%03d", k * 333))") }
            }
            for _ in 0..<2_000 {
                let seconds = Int64.random(in: -2_208_988_800...4_102_444_799, using: &random)
                let text = Timestamps.text(epochMillis: seconds * 1000).description  // a UTC text as a local one: any wall time
                let wall = text.prefix(10) + " " + text.dropFirst(11).prefix(8)
                for _ in 0..<Int.random(in: 1...3, using: &random) { texts.append("\(wall),\(String(format: "%03d", Int.random(in: 0...999, using: &random)))") }
            }
            texts += ["2026-13-01 00:00:00,000", "2026-02-30 10:00:00,000", "2026-11-25 10:00:00.123", "2026-11-25 10:00:00,12",
                      "2026-11-25 10:00:00,1234", "2026-11-25T10:00:00,123", "2026-11-25 10:00:00,12x"]
            for text in texts {
                let bytes = Array(text.utf8)
                let expected = bytes.withUnsafeBufferPointer { Timestamps.epochMillis(bytes: $0, zone: zone) }
                let cached = bytes.withUnsafeBufferPointer { cache.read($0, zone: zone) }
                // Python's `,mmm` after the 19 bytes of a date and time (`T` or a space between them).
                let pythonShape = bytes.count == 23 && bytes[19] == 44 && bytes[20...].allSatisfy { $0 &- 48 < 10 }
                if let cached {
                    #expect(pythonShape && cached.millis == expected, "\(name) \(text)")
                    #expect(cached.text.description == expected.map { Timestamps.text(epochMillis: $0).description }, "\(name) \(text)")
                } else {
                    #expect(!pythonShape || expected == nil, "\(name) \(text): left to the general path")
                }
            }
        }
    }
}

/// An event id made from a file's prefix (the agent's way, digits by hand) is the one made from
/// scratch (the offset's decimal text).
struct EventIDTests {
    @Test func prefixIdsEqualIdsMadeFromScratch() {
        let prefix = EventID.Prefix(host: "h1", fileIdentity: "abc")
        var offsets: [Int64] = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65_536, 1_234_567_890, Int64.max, -1, -10, Int64.min]
        var random = SystemRandomNumberGenerator()
        offsets += (0..<2_000).map { _ in Int64.random(in: 0...Int64.max, using: &random) >> Int64.random(in: 0...62, using: &random) }
        for offset in offsets {
            #expect(prefix.id(offset: offset) == EventID.make(host: "h1", fileIdentity: "abc", offset: offset), "\(offset)")
        }
    }
}
