import CByteScan
import Foundation
import LogModel
import Testing

/// The SSE2/word-at-a-time byte scans the encoder and the masker rely on agree with a plain byte
/// loop on every length (the vector body, the overlapping tails, the short-string words) and at
/// every position of the byte that stops them; and an event's strings survive encoding whole.
struct ByteScanTests {
    /// Bytes that stop or nearly stop a scan (quote, backslash, controls, space, DEL, UTF-8 bytes, letter edges).
    static let edges: [UInt8] = [0x00, 0x09, 0x0A, 0x1F, 0x20, 0x21, 0x22, 0x2C, 0x2F, 0x30, 0x39, 0x3A, 0x40, 0x41, 0x5A, 0x5B,
                                 0x5C, 0x5F, 0x60, 0x61, 0x7A, 0x7B, 0x7F, 0x80, 0xC3, 0xFF]

    static func plainPrefix(_ b: [UInt8]) -> Int { b.firstIndex { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } ?? b.count }

    static func isAlphanumeric(_ c: UInt8) -> Bool { (c | 0x20) &- 97 < 26 || c &- 48 < 10 }

    static func wordStarts(_ b: [UInt8], afterAlphanumeric: Bool) -> UInt64 {
        var bits: UInt64 = 0
        for k in 0..<min(b.count, 64) where isAlphanumeric(b[k]) && !(k > 0 ? isAlphanumeric(b[k - 1]) : afterAlphanumeric) {
            bits |= 1 << UInt64(k)
        }
        return bits
    }

    /// Every length 0–80 with each edge byte at every position of a plain run, and random mixes.
    static func inputs() -> [[UInt8]] {
        var all: [[UInt8]] = []
        for length in 0...80 {
            let plain = (0..<length).map { UInt8(97 + $0 % 26) }
            all.append(plain)
            for position in 0..<length {
                for edge in edges {
                    var b = plain
                    b[position] = edge
                    all.append(b)
                }
            }
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...80, using: &random)
            all.append((0..<length).map { _ in Bool.random(using: &random) ? edges.randomElement(using: &random)! : UInt8.random(in: 0x23...0x7E, using: &random) })
        }
        return all
    }

    static func isSeparator(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 44 }

    @Test func plainPrefixWordStartsAndSeparatorsAgreeWithAByteLoop() {
        var mismatches: [String] = []
        for b in Self.inputs() {
            b.withUnsafeBufferPointer { p in
                let base = p.baseAddress ?? UnsafePointer(bitPattern: 1)!
                let plain = logship_json_plain_prefix(base, p.count)
                if plain != Self.plainPrefix(b) { mismatches.append("plain prefix of \(b): \(plain), expected \(Self.plainPrefix(b))") }
                let separator = logship_find_separator(base, p.count), expectedSeparator = b.firstIndex(where: Self.isSeparator) ?? b.count
                if separator != expectedSeparator { mismatches.append("separator in \(b): \(separator), expected \(expectedSeparator)") }
                let wordStart = logship_word_start(base, p.count), expectedStart = (b.lastIndex(where: Self.isSeparator) ?? -1) + 1
                if wordStart != expectedStart { mismatches.append("word start of \(b): \(wordStart), expected \(expectedStart)") }
                let ascii = logship_plain_ascii_prefix(base, p.count), expectedASCII = b.firstIndex { $0 == 0 || $0 >= 0x80 } ?? b.count
                if ascii != expectedASCII { mismatches.append("ASCII prefix of \(b): \(ascii), expected \(expectedASCII)") }
                for after in [false, true] {
                    let starts = logship_word_starts(base, p.count, after ? 1 : 0)
                    let expected = Self.wordStarts(b, afterAlphanumeric: after)
                    if starts != expected { mismatches.append("word starts of \(b) (after \(after)): \(starts), expected \(expected)") }
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    /// The masker's word filter as a byte loop: a letter start whose pair (first, second byte)
    /// the table has, a digit start with three more digits or a '+' before it (or every one).
    static func maskWordStarts(_ b: [UInt8], from k: Int, pairs: [UInt32]) -> UInt64 {
        var keep: UInt64 = 0
        let isDigit = { (c: UInt8) in c &- 48 < 10 }
        for i in k..<min(b.count, k + 64) where isAlphanumeric(b[i]) && !(i > 0 && isAlphanumeric(b[i - 1])) {
            if isDigit(b[i]) {
                let four = i + 3 < b.count && (1...3).allSatisfy { isDigit(b[i + $0]) }
                if pairs[26] & 1 != 0 || four || (i > 0 && b[i - 1] == 43) { keep |= 1 << UInt64(i - k) }
            } else {
                let second = i + 1 < b.count ? b[i + 1] | 0x20 : 0
                let bit = second &- 97 < 26 ? UInt32(second &- 97) : 26
                if pairs[Int(b[i] | 0x20) - 97] >> bit & 1 != 0 { keep |= 1 << UInt64(i - k) }
            }
        }
        return keep
    }

    /// `logship_mask_word_starts` (bit masks for numbers, a pair table for words) against that
    /// loop: random texts of letters, digits, '+' and separators, 0–150 bytes, from every offset
    /// (so numbers straddle the 64-byte block's end), with a sparse table and with every pair.
    @Test func maskWordStartsAgreeWithAByteLoop() {
        var g = SplitMix(seed: 11)
        let alphabet = Array("aAbkKsSyo0123456789+ _-=:.,xX".utf8)
        var sparse = [UInt32](repeating: 0, count: 27)
        sparse[0] = 1 << 10 | 1 << 18 | 1 << 26  // a: ak, as, a + any other byte
        sparse[18] = 1 << 10                     // s: sk
        sparse[23] = 1 << 14                     // x: xo
        let every = [UInt32](repeating: (1 << 27) - 1, count: 27)
        var mismatches: [String] = []
        for length in 0...150 {
            for _ in 0..<4 {
                let b = (0..<length).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] }
                b.withUnsafeBufferPointer { p in
                    for k in 0..<max(b.count, 1) where k < b.count {
                        for pairs in [sparse, every] {
                            let got = pairs.withUnsafeBufferPointer { logship_mask_word_starts(p.baseAddress! + k, b.count - k, k, $0.baseAddress!) }
                            let expected = Self.maskWordStarts(b, from: k, pairs: pairs)
                            if got != expected { mismatches.append("\(String(decoding: b, as: UTF8.self)) from \(k): \(got), expected \(expected)") }
                        }
                    }
                }
            }
        }
        let disagreements = mismatches.count
        #expect(disagreements == 0, "e.g. \(mismatches.prefix(3))")
    }

    /// `logship_hex_lower` against a byte loop: hex runs (both cases, all zeros) of every length
    /// 0–80 with each edge byte — and the bytes around 0–9, a–f, A–F — at every position, and random mixes.
    @Test func hexIdsAgreeWithAByteLoop() {
        let hexEdges = Self.edges + [0x2F, 0x3A, 0x40, 0x46, 0x47, 0x60, 0x66, 0x67].map { UInt8($0) }
        let digits = Array("0123456789abcdefABCDEF".utf8)
        var inputs: [[UInt8]] = []
        for length in 0...80 {
            let hex = (0..<length).map { digits[$0 % digits.count] }
            inputs += [hex, [UInt8](repeating: 0x30, count: length)]
            for position in 0..<length {
                for edge in hexEdges {
                    var b = hex
                    b[position] = edge
                    inputs.append(b)
                    var zeros = [UInt8](repeating: 0x30, count: length)
                    zeros[position] = edge
                    inputs.append(zeros)
                }
            }
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...40, using: &random)
            inputs.append((0..<length).map { _ in Int.random(in: 0..<20, using: &random) == 0 ? hexEdges.randomElement(using: &random)! : digits.randomElement(using: &random)! })
        }
        var mismatches: [String] = []
        for b in inputs {
            let valid = b.allSatisfy { $0 &- 48 < 10 || ($0 | 0x20) &- 97 < 6 } && b.contains { $0 != 0x30 }
            var out = [UInt8](repeating: 0, count: b.count)
            let result = b.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    logship_hex_lower(p.baseAddress ?? UnsafePointer(bitPattern: 1)!, p.count, o.baseAddress ?? UnsafeMutablePointer(bitPattern: 1)!)
                }
            }
            if (result != 0) != valid { mismatches.append("\(b): \(result), expected \(valid)") }
            if valid, out != b.map({ $0 | 0x20 }) { mismatches.append("\(b) lower-cased to \(out)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    /// Event ids' hex (SSE2) against `String(_:radix:)`, zero-padded: every nibble value at every
    /// position, the extremes and random pairs.
    @Test func eventIdHexAgreesWithStringRadix() {
        var values: [UInt64] = [0, 1, 9, 10, 15, 16, .max, .max - 1, 0x8000_0000_0000_0000, 0x0123_4567_89ab_cdef]
        for position in 0..<16 { for nibble in 0..<16 { values.append(UInt64(nibble) << (4 * UInt64(position))) } }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<5_000 { values.append(random.next()) }
        func expected(_ v: UInt64) -> String { String(repeating: "0", count: 16 - String(v, radix: 16).count) + String(v, radix: 16) }
        var mismatches: [String] = []
        for (high, low) in zip(values, values.reversed()) {
            var out = [UInt8](repeating: 0, count: 32)
            out.withUnsafeMutableBufferPointer { logship_hex_u64_pair(high, low, $0.baseAddress!) }
            if String(decoding: out, as: UTF8.self) != expected(high) + expected(low) { mismatches.append("\(high) \(low): \(out)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    /// Decimal digits (pairs from a table, the count from the bit length) against `String(_:)`:
    /// every power of ten and its neighbours, the extremes, random values of every magnitude.
    @Test func decimalDigitsAgreeWithString() {
        var values: [UInt64] = [0, 1, 9, .max, .max - 1, UInt64(Int64.max), UInt64(Int64.max) + 1]
        var power: UInt64 = 1
        for _ in 0..<20 {
            values += [power, power - 1, power + 1, power &* 9, power &* 5 + 3]
            power = power &* 10
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20_000 { values.append(random.next() >> UInt64.random(in: 0..<64, using: &random)) }
        var mismatches: [String] = []
        for value in values {
            var out = [UInt8](repeating: 0, count: 20)
            let count = out.withUnsafeMutableBufferPointer { logship_decimal_u64(value, $0.baseAddress!) }
            if String(decoding: out.prefix(count), as: UTF8.self) != String(value) { mismatches.append("\(value): \(out.prefix(count))") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        // Negative numbers through the encoder: the sign, then the magnitude.
        var event = LogEvent(timestamp: "2026-11-25T10:00:00.000Z", message: "m", serviceName: "s")
        for offset in [Int64.min, -1, 0, 7, Int64.max] {
            event.fileOffset = offset
            #expect(String(decoding: event.encoded(), as: UTF8.self).contains("\"offset\":\(offset)"))
        }
    }

    /// Inline texts (ids, times: checked and copied 32 bytes at once) of every length up to 32,
    /// with a byte to escape at every position or none, decode to themselves.
    @Test func inlineTextsOfEveryLengthDecodeToThemselves() throws {
        for length in 0...32 {
            for position in -1..<length {
                for special in ["\"", "\\", "\n", "\u{01}", "\t", "a"] where position >= 0 || special == "a" {
                    var characters = (0..<length).map { String(UnicodeScalar(97 + $0 % 26)!) }
                    if position >= 0 { characters[position] = special }
                    let text = characters.joined()
                    var event = LogEvent(timestamp: "2026-11-25T10:00:00.000Z", message: "m", serviceName: "s")
                    event.traceID = text
                    event.eventID = text
                    let json = try #require(JSONSerialization.jsonObject(with: Data(event.encoded())) as? [String: Any])
                    #expect((json["trace"] as? [String: Any])?["id"] as? String == text)
                    #expect((json["event"] as? [String: Any])?["id"] as? String == text)
                }
            }
        }
    }

    @Test func messagesOfEveryLengthWithASpecialByteAnywhereDecodeToThemselves() throws {
        for length in 0...40 {
            for position in 0..<max(length, 1) {
                for special in ["\"", "\\", "\n", "\u{01}", "é", "\t"] {
                    var characters = (0..<length).map { String(UnicodeScalar(97 + $0 % 26)!) }
                    if length > 0 { characters[position] = special }
                    let message = characters.joined()
                    var event = LogEvent(timestamp: "2026-11-25T10:00:00.000Z", message: message, serviceName: "s")
                    event.logger = message
                    let json = try #require(JSONSerialization.jsonObject(with: Data(event.encoded())) as? [String: Any])
                    #expect(json["message"] as? String == message)
                    #expect((json["log"] as? [String: Any])?["logger"] as? String == message)
                }
            }
        }
    }
}
