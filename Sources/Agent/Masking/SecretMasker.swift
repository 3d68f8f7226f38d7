import CByteScan
import Foundation
import LogModel

/// Masks secrets before anything leaves the host, by shape, with precision as well as recall:
/// a rule fires only on text that has the shape of its credential, so ids, epochs, versions,
/// IPs and block numbers pass untouched. Built-ins are one byte scan over the record (no
/// regex), visiting only word starts, since every line goes through here; configured regexes
/// run after it. Each built-in has a name (`SecretMasker.Rule`), so an input can disable one,
/// enable an opt-in PII rule, and `logship parse --explain` can say which rule masked what.
public struct SecretMasker: Sendable {
    public static let marker = "[MASKED]"
    static let markerBytes = Array(marker.utf8)

    /// The built-in rules, by the names configuration and `--explain` use.
    public typealias Rule = MaskRule

    /// What one rule replaced: `start..<end` of the input, `outputStart` where the marker went.
    public struct Match: Sendable, Equatable {
        public var rule: String
        public var start: Int
        public var end: Int
        public var outputStart: Int
    }

    let enabled: UInt32
    let custom: [(name: String, regex: NSRegularExpression)]
    /// The words the loop in `maskBuiltIn` stops at (`logship_mask_word_starts`): per first letter
    /// (a–z, either case), the second letters (bit 0 = a; bit 26: any other byte) of the words its
    /// switch acts on — a credential shape (`shapePairs`) or a key or scheme (`keyPrefixes`) — and
    /// in entry 26 the numbers: bit 0 keeps every number, else only those `mayStartNumber` lets
    /// through. Every other word the loop would pass over unchanged (`MaskingCorpusTests` compares
    /// with `allWords`).
    var wordFilter: [UInt32] = Self.candidateWords
    /// The first two letters of the credential shapes the switch in `maskBuiltIn` looks for (keep
    /// this in step with it): AKIA/ASIA/AIza, BEGIN, Cookie, eyJ, gh…/gl…/gi…, rk_, sk_, xox.
    static let shapePairs: [(first: Character, seconds: String)] = [("a", "ksi"), ("b", "e"), ("c", "o"), ("e", "y"), ("g", "hli"),
                                                                     ("r", "k"), ("s", "k"), ("x", "o")]
    static let candidateWords: [UInt32] = {
        var pairs = keyPrefixes + [0]
        for (first, seconds) in shapePairs {
            for second in seconds.utf8 { pairs[Int(first.asciiValue! - 97)] |= 1 << UInt32(second - 97) }
        }
        return pairs
    }()
    /// Every word start (every second byte, every number): the loop as it was before the filter.
    static let allWords = [UInt32](repeating: (1 << 27) - 1, count: 27)

    /// `disable` and `enable` name built-in rules (unknown names throw); `customPatterns` are
    /// regexes whose whole match is replaced, each with an optional name for `--explain`.
    public init(customPatterns: [String] = [], disable: [String] = [], enable: [String] = [],
                namedPatterns: [(name: String, pattern: String)] = []) throws {
        var bits: UInt32 = 0
        for rule in Rule.allCases where !Rule.optIn.contains(rule) { bits |= rule.bit }
        for name in enable {
            guard let rule = Rule(rawValue: name) else { throw MaskRuleError(name: name) }
            bits |= rule.bit
        }
        for name in disable {
            guard let rule = Rule(rawValue: name) else { throw MaskRuleError(name: name) }
            bits &= ~rule.bit
        }
        enabled = bits
        custom = try customPatterns.enumerated().map { ("pattern[\($0)]", try NSRegularExpression(pattern: $1)) }
            + namedPatterns.map { ($0.name, try NSRegularExpression(pattern: $0.pattern)) }
    }

    public struct MaskRuleError: Error, CustomStringConvertible {
        public let name: String
        public var description: String {
            "unknown mask rule \"\(name)\" (built-in rules: \(Rule.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }

    @inline(__always) func isOn(_ rule: Rule) -> Bool { enabled & rule.bit != 0 }

    /// The masked text and how many secrets were replaced.
    public func mask(_ text: String) -> (String, Int) {
        let (bytes, count) = mask(bytes: Array(text.utf8))
        return count > 0 ? (String(decoding: bytes, as: UTF8.self), count) : (text, 0)
    }

    /// The same on a whole record's bytes, before it is parsed: a secret is masked wherever it
    /// sits (message, stack trace, a JSON field). A JSON value stays valid JSON.
    public func mask(bytes: [UInt8]) -> ([UInt8], Int) {
        var none: [Match]? = nil
        return mask(bytes: bytes, explain: &none)
    }

    /// `mask(bytes:)` in place; `bytes` is written only when something was masked. Returns the count.
    public func mask(_ bytes: inout [UInt8]) -> Int {
        let (result, count) = mask(bytes: bytes)
        if count > 0 { bytes = result }
        return count
    }

    /// With `explain` non-nil, every replacement is appended to it (built-ins in input
    /// coordinates; configured regexes in those of the built-ins' output).
    public func mask(bytes: [UInt8], explain: inout [Match]?) -> ([UInt8], Int) {
        var count = 0
        var result = bytes
        let (masked, n) = bytes.withUnsafeBufferPointer { maskBuiltIn($0, explain: &explain) }
        if let masked {
            result = masked
            count += n
        }
        guard !custom.isEmpty else { return (result, count) }
        var text = String(decoding: result, as: UTF8.self)
        for (name, regex) in custom {
            let range = NSRange(text.startIndex..., in: text)
            let matches = regex.matches(in: text, range: range)
            guard !matches.isEmpty else { continue }
            if explain != nil {
                for match in matches {
                    let start = text.utf8.distance(from: text.startIndex, to: Range(match.range, in: text)!.lowerBound)
                    explain!.append(Match(rule: name, start: start, end: start + match.range.length, outputStart: start))
                }
            }
            text = regex.stringByReplacingMatches(in: text, range: range, withTemplate: Self.marker)
            count += matches.count
        }
        return (count > 0 ? Array(text.utf8) : result, count)
    }

    /// Visits the start of every word (a run of letters and digits; `_` separates, so
    /// db_password= and access_token= are caught) and nothing else. Nil when nothing matched:
    /// most lines hold no secret, and the output is built only from the first match on.
    func maskBuiltIn(_ b: UnsafeBufferPointer<UInt8>, explain: inout [Match]?) -> ([UInt8]?, Int) {
        var out: [UInt8] = []
        var copied = 0
        var count = 0
        let explaining = explain != nil
        var matches: [Match] = []
        defer { if explaining { explain! += matches } }
        /// Keeps b[copied..<start], writes the marker in place of b[start..<end], resumes at end.
        func replace(_ start: Int, _ end: Int, _ rule: Rule, quoted: Bool = false) -> Int {
            if out.isEmpty { out.reserveCapacity(b.count + 16) }
            out.append(contentsOf: b[copied..<start])
            if explaining { matches.append(Match(rule: rule.rawValue, start: start, end: end, outputStart: out.count)) }
            if quoted { out.append(34) }
            out.append(contentsOf: Self.markerBytes)
            if quoted { out.append(34) }
            count += 1
            copied = end
            return end
        }
        // URL passwords (from each `//`) and e-mail addresses (opt-in, from each `@`) are found
        // beforehand, by memchr: most records hold neither, and the word loop stays lean.
        var found: [(range: Range<Int>, rule: Rule)] = []
        if isOn(.urlPassword) { Self.urlPasswords(b, into: &found) }
        if isOn(.email) {
            found += Self.emailRanges(b).map { ($0, .email) }
            found.sort { $0.range.lowerBound < $1.range.lowerBound }
        }
        var nextFound = 0
        var i = 0
        let n = b.count
        // Where words start, 64 bytes at a time (SSE2): the loop goes from word to word.
        var blockAt = -64, blockStarts: UInt64 = 0
        /// The first word start at or after `k`; n if none.
        func nextWord(from k: Int) -> Int {
            var k = k
            while k < n {
                if k &- blockAt >= 64 || k < blockAt {
                    blockAt = k
                    blockStarts = wordFilter.withUnsafeBufferPointer { logship_mask_word_starts(b.baseAddress! + k, n &- k, k, $0.baseAddress!) }
                }
                let bits = blockStarts >> UInt64(k &- blockAt)
                if bits != 0 { return min(k &+ bits.trailingZeroBitCount, n) }
                k = blockAt &+ 64
            }
            return n
        }
        // The word loop runs up to the next range found beforehand (to the end when there is
        // none, as usual), which is then replaced, and goes on after it.
        var limit = found.isEmpty ? n : found[0].range.lowerBound
        while true {
            if i >= limit {
                guard limit < n else { break }
                while nextFound < found.count, found[nextFound].range.lowerBound < i { nextFound += 1 }
                if nextFound < found.count, found[nextFound].range.lowerBound == i {
                    i = replace(i, found[nextFound].range.upperBound, found[nextFound].rule)
                    nextFound += 1
                }
                while nextFound < found.count, found[nextFound].range.lowerBound < i { nextFound += 1 }
                limit = nextFound < found.count ? found[nextFound].range.lowerBound : n
                continue
            }
            let c = b[i]
            // Bytes between words are none of a word's business, nor of a range found beforehand
            // unless it starts among them: land on the next word's start or on `limit`.
            guard Self.isLetter(c) || Self.isDigit(c) else { i = min(nextWord(from: i + 1), limit); continue }
            // b[i] starts a word: every path below leaves i on a byte that is no letter or digit
            // (a replaced value ends at a separator), so no look-behind is needed.
            if Self.isLetter(c) {
                // Dispatched on the first letters: most words stop at this switch; only a few
                // go on to the credential shapes, and the key scan needs a `=`/`:` after the word.
                // `shaped`: a credential shape may start here; `candidate`: a key or a scheme may.
                // (The first two letters acted on here are `candidateWords`: other words never
                // reach this switch.)
                var shaped = false, candidate = true
                @inline(__always) func second() -> UInt8 { i + 1 < n ? b[i + 1] : 0 }
                switch c | 0x20 {
                case UInt8(ascii: "a"): shaped = c == UInt8(ascii: "A")                       // AKIA…, AIza…
                case UInt8(ascii: "b"): shaped = c == UInt8(ascii: "B")                       // BEGIN … PRIVATE KEY
                case UInt8(ascii: "c"): shaped = second() | 0x20 == UInt8(ascii: "o")         // Cookie
                case UInt8(ascii: "e"): shaped = second() == UInt8(ascii: "y"); candidate = false   // eyJ… (JWT)
                case UInt8(ascii: "g"):
                    let s = second(); shaped = s == UInt8(ascii: "h") || s == UInt8(ascii: "l") || s == UInt8(ascii: "i"); candidate = false
                case UInt8(ascii: "x"): shaped = second() == UInt8(ascii: "o"); candidate = false   // xox…
                case UInt8(ascii: "r"): shaped = second() == UInt8(ascii: "k"); candidate = false   // rk_…
                case UInt8(ascii: "s"): shaped = second() == UInt8(ascii: "k")                      // sk_…, sk-…
                case UInt8(ascii: "j"), UInt8(ascii: "p"), UInt8(ascii: "t"): break
                default:
                    candidate = false
                }
                if shaped, let hit = shapeRule(b, i) {
                    if hit.rule == .cookie {
                        // Every `name=value` of a Cookie header; the first only of a Set-Cookie.
                        var k = hit.start
                        while let pair = Self.cookieValue(b, from: k, end: hit.end) {
                            k = replace(pair.lowerBound, pair.upperBound, .cookie)
                            if hit.quoted { break }  // quoted marks Set-Cookie here
                        }
                        i = max(k, i + 1)
                        if k == hit.start { while i < n, Self.isWordByte(b[i]) { i += 1 } }
                        continue
                    }
                    i = replace(hit.start, hit.end, hit.rule, quoted: hit.quoted)
                    continue
                }
                if candidate, Self.mayStartKey(b, i), let kv = Self.keyValueEnd(b, i) {
                    let rule: Rule = kv.authorization ? .authorization : .keyValue
                    if isOn(rule) {
                        i = replace(kv.valueStart, kv.valueEnd, rule, quoted: kv.quoteMarker)
                        continue
                    }
                }
            } else if Self.mayStartNumber(b, i), let hit = digitRule(b, i) {
                i = replace(i, hit.end, hit.rule)
                continue
            }
            if limit == n {
                i = nextWord(from: i + 1)
            } else {
                // A range found beforehand is ahead: stop at this word's end, as the rule for it expects.
                i += 1
                while i < n, Self.isAlphanumeric(b[i]) { i += 1 }
            }
        }
        if count == 0 { return (nil, 0) }
        out.append(contentsOf: b[copied...])
        return (out, count)
    }

    /// The credential shapes a word starting with a letter may begin (the caller has checked
    /// its first two letters), and Cookie headers.
    func shapeRule(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (rule: Rule, start: Int, end: Int, quoted: Bool)? {
        let lower = b[i] | 0x20
        let second = i + 1 < b.count ? b[i + 1] : 0
        switch lower {
        case UInt8(ascii: "a"):
            if b[i] == 65, isOn(.awsAccessKeyID), let end = Self.awsKeyEnd(b, i) { return (.awsAccessKeyID, i, end, false) }
            if b[i] == 65, isOn(.googleAPIKey), Self.hasPrefix(b, i, "AIza"), let end = Self.runEnd(b, i + 4, min: 35, Self.isTokenByte) {
                return (.googleAPIKey, i, end, false)
            }
        case UInt8(ascii: "b"):
            if b[i] == 66, isOn(.privateKey), let range = Self.pemBody(b, i) { return (.privateKey, range.lowerBound, range.upperBound, false) }
        case UInt8(ascii: "c"):
            if isOn(.cookie), let range = Self.cookieHeader(b, i) { return (.cookie, range.range.lowerBound, range.range.upperBound, range.setCookie) }
        case UInt8(ascii: "e") where second == UInt8(ascii: "y"):
            if isOn(.jwt), let end = Self.jwtEnd(b, i) { return (.jwt, i, end, false) }
        case UInt8(ascii: "g") where second == UInt8(ascii: "h") || second == UInt8(ascii: "l") || second == UInt8(ascii: "i"):
            if isOn(.githubToken) {
                // ghp_ gho_ ghu_ ghs_ ghr_
                if i + 4 < b.count, b[i + 1] == 104, b[i + 3] == 95, [112, 111, 117, 115, 114].contains(b[i + 2]),
                   let end = Self.runEnd(b, i + 4, min: 30, Self.isAlphanumeric) {
                    return (.githubToken, i, end, false)
                }
                if Self.hasPrefix(b, i, "github_pat_"), let end = Self.runEnd(b, i + 11, min: 22, Self.isWordByte) {
                    return (.githubToken, i, end, false)
                }
            }
            if isOn(.gitlabToken), Self.hasPrefix(b, i, "glpat-"), let end = Self.runEnd(b, i + 6, min: 20, Self.isTokenByte) {
                return (.gitlabToken, i, end, false)
            }
        case UInt8(ascii: "x") where second == UInt8(ascii: "o"):
            if isOn(.slackToken), i + 5 < b.count, Self.hasPrefix(b, i, "xox"), b[i + 4] == 45,
               [UInt8(ascii: "b"), UInt8(ascii: "p"), UInt8(ascii: "a"), UInt8(ascii: "r"), UInt8(ascii: "s"), UInt8(ascii: "e")].contains(b[i + 3]),
               let end = Self.runEnd(b, i + 5, min: 10, { Self.isAlphanumeric($0) || $0 == 45 }) {
                return (.slackToken, i, end, false)
            }
        case UInt8(ascii: "s") where second == UInt8(ascii: "k"), UInt8(ascii: "r") where second == UInt8(ascii: "k"):
            if isOn(.stripeKey) {
                // sk_live_ sk_test_ rk_live_ rk_test_
                if i + 8 < b.count, b[i + 2] == 95, Self.hasPrefix(b, i + 3, "live_") || Self.hasPrefix(b, i + 3, "test_"),
                   let end = Self.runEnd(b, i + 8, min: 16, Self.isAlphanumeric) {
                    return (.stripeKey, i, end, false)
                }
            }
            if isOn(.openAIKey), Self.hasPrefix(b, i, "sk-"), let end = Self.runEnd(b, i + 3, min: 20, Self.isTokenByte),
               Self.hasDigitAndLetter(b, i + 3, end) {
                return (.openAIKey, i, end, false)
            }
        default:
            break
        }
        return nil
    }

    /// Every number rule needs 4 digits at once (a card's first group, a resident id, an
    /// 11-digit mobile number) or a `+` before (an international phone number): "10", "200" and
    /// the parts of times and dates are turned away here.
    @inline(__always) static func mayStartNumber(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Bool {
        if start > 0 && b[start - 1] == 43 { return true }
        guard start + 3 < b.count else { return false }
        return isDigit(b[start + 1]) && isDigit(b[start + 2]) && isDigit(b[start + 3])
    }

    func digitRule(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (rule: Rule, end: Int)? {
        if isOn(.cnResidentID), let end = Self.residentIDEnd(b, i) { return (.cnResidentID, end) }
        if isOn(.cardNumber), let end = Self.cardEnd(b, i) { return (.cardNumber, end) }
        if isOn(.phone), let end = Self.phoneEnd(b, i) { return (.phone, end) }
        return nil
    }

    /// The first index of `needle` in `b` at or after `from` (memchr for its first byte).
    static func find(_ b: UnsafeBufferPointer<UInt8>, from: Int, _ needle: StaticString) -> Int? {
        guard let base = b.baseAddress else { return nil }
        let first = needle.utf8Start[0]
        var at = from
        while at < b.count, let hit = memchr(base + at, Int32(first), b.count - at) {
            let k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if hasPrefix(b, k, needle) { return k }
            at = k + 1
        }
        return nil
    }

    public static func luhn(_ digits: [Int]) -> Bool {
        var sum = 0
        for (index, digit) in digits.reversed().enumerated() {
            if index % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }

    static func matchesLowercase(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ word: [UInt8]) -> Bool {
        guard start >= 0, start + word.count <= b.count else { return false }
        for k in 0..<word.count {
            var c = b[start + k]
            if c >= 65 && c <= 90 { c += 32 }
            if c != word[k] { return false }
        }
        return true
    }

    static func hasPrefix(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard start >= 0, start + count <= b.count else { return false }
        let p = prefix.utf8Start
        for k in 0..<count where b[start + k] != p[k] { return false }
        return true
    }

    // Unsigned range checks by wrapping subtraction: one compare each, no branches.
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 48 < 10 }
    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) &- 97 < 26 }
    @inline(__always) static func isAlphanumeric(_ c: UInt8) -> Bool { isLetter(c) || isDigit(c) }
    @inline(__always) static func isWordByte(_ c: UInt8) -> Bool { isLetter(c) || isDigit(c) || c == 95 }
    /// base64url and token alphabets: letters, digits, `_`, `-`.
    @inline(__always) static func isTokenByte(_ c: UInt8) -> Bool { isWordByte(c) || c == 45 }
}
