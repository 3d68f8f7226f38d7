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
            guard Self.isLetter(c) || Self.isDigit(c) else { i += 1; continue }
            // b[i] starts a word: every path below leaves i on a byte that is no letter or digit
            // (a replaced value ends at a separator), so no look-behind is needed.
            if Self.isLetter(c) {
                // Dispatched on the first letters: most words stop at this switch; only a few
                // go on to the credential shapes, and the key scan needs a `=`/`:` after the word.
                // `shaped`: a credential shape may start here; `candidate`: a key or a scheme may.
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
                if candidate, let kv = Self.keyValueEnd(b, i) {
                    let rule: Rule = kv.authorization ? .authorization : .keyValue
                    if isOn(rule) {
                        i = replace(kv.valueStart, kv.valueEnd, rule, quoted: kv.quoteMarker)
                        continue
                    }
                }
            } else if let hit = digitRule(b, i) {
                i = replace(i, hit.end, hit.rule)
                continue
            }
            i += 1
            while i < n, Self.isLetter(b[i]) || Self.isDigit(b[i]) { i += 1 }
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

    func digitRule(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (rule: Rule, end: Int)? {
        if isOn(.cnResidentID), let end = Self.residentIDEnd(b, i) { return (.cnResidentID, end) }
        if isOn(.cardNumber), let end = Self.cardEnd(b, i) { return (.cardNumber, end) }
        if isOn(.phone), let end = Self.phoneEnd(b, i) { return (.phone, end) }
        return nil
    }

    // MARK: key = value

    static let keys: [[UInt8]] = ["password", "passwd", "passphrase", "pwd", "secret", "token", "api_key", "apikey", "api-key",
                                  "access_key", "private_key", "credentials", "credential", "authorization", "sessionid", "session_id",
                                  "session-id", "jsessionid", "phpsessid"].map { Array($0.utf8) }
    /// The keys by their first letter (a–z), so a word is compared only with keys it could be.
    static let keysByLetter: [[[UInt8]]] = (0..<26).map { letter in keys.filter { Int($0[0]) - 97 == letter } }
    static let schemes: [[UInt8]] = ["bearer ", "basic ", "token "].map { Array($0.utf8) }
    /// What may follow a key in a name that holds no secret: `tokens=`, `max_tokens`, `token_count`, `password_policy`.
    static let harmlessSuffixes: [[UInt8]] = ["s", "_count", "-count", "count", "_type", "_ttl", "_expires", "_expiry",
                                              "_expires_in", "_expires_at", "_length", "_len", "_policy", "_id", "_name",
                                              "_limit", "_used", "_changed", "_updated", "_reset"].map { Array($0.utf8) }

    /// `key[suffix]["'] *[=:] *["']?(scheme )?value`: where the value starts and ends.
    /// `quoteMarker`: a JSON key (`"token": 123`) with an unquoted value, replaced by `"[MASKED]"`.
    static func keyValueEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int)
        -> (valueStart: Int, valueEnd: Int, quoteMarker: Bool, authorization: Bool)? {
        // The caller calls this only for words starting with a key's or a scheme's first letter
        // (a, b, c, j, p, s, t; also e, g, r, x, which no key has: the probe below rejects them).
        // A key needs `=` or `:` right after it (past its suffix, a quote, spaces): most words
        // ("status", "request") are rejected here without comparing them to every key.
        var probe = start
        while probe < b.count, isWordByte(b[probe]) || b[probe] == 45 { probe += 1 }
        while probe < b.count, b[probe] == 92 { probe += 1 }  // JSON inside a JSON string: \"key\":, \\\"key\\\":
        if probe < b.count, b[probe] == 34 || b[probe] == 39 { probe += 1 }
        while probe < b.count, b[probe] == 32 { probe += 1 }
        let separated = probe < b.count && (b[probe] == 61 || b[probe] == 58)
        if !separated && b[start] | 0x20 != UInt8(ascii: "b") { return nil }
        var matched = -1
        var isAuthorization = false
        if separated {
            for key in keysByLetter[Int(b[start] | 0x20) &- 97] where matchesLowercase(b, start, key) {
                matched = start + key.count
                isAuthorization = key[0] == UInt8(ascii: "a") && key.count == 13
                break
            }
        }
        // Schemes appear without a key too: "Bearer abc…".
        if matched < 0 {
            for scheme in schemes.prefix(2) where matchesLowercase(b, start, scheme) {
                let valueStart = start + scheme.count
                let valueEnd = valueEndIndex(b, valueStart)
                // A credential, not prose ("Basic configuration loaded"): token characters with a digit in them.
                return valueEnd - valueStart >= 8 && looksLikeCredential(b, valueStart, valueEnd) ? (valueStart, valueEnd, false, true) : nil
            }
            return nil
        }
        var j = matched
        // `tokenizer`, `tokens`, `secretary`: another word; `secretKey`, `password_hash`: still the key.
        if j < b.count, b[j] &- 97 < 26 { return nil }
        while j < b.count, isWordByte(b[j]) || b[j] == 45 { j += 1 }  // db_password_hash, api-key
        if j > matched, harmlessSuffixes.contains(where: { $0.count == j - matched && matchesLowercase(b, matched, $0) }) {
            return nil
        }
        // A JSON key ("db_password"): the whole key token, prefix included, sits between quotes.
        var keyStart = start
        while keyStart > 0, isWordByte(b[keyStart - 1]) || b[keyStart - 1] == 45 { keyStart -= 1 }
        let quotedKey = j < b.count && b[j] == 34 && keyStart > 0 && b[keyStart - 1] == 34
        while j < b.count, b[j] == 92 { j += 1 }
        if j < b.count, b[j] == 34 || b[j] == 39 { j += 1 }
        while j < b.count, b[j] == 32 { j += 1 }
        guard j < b.count, b[j] == 61 || b[j] == 58 else { return nil }
        j += 1
        while j < b.count, b[j] == 32 { j += 1 }
        var quote: UInt8 = 0
        // A value quoted inside a JSON string (`\"password\": \"x\"`) ends at the escaped quote.
        var escapes = j
        while escapes < b.count, b[escapes] == 92 { escapes += 1 }
        let escapedQuote = escapes > j && escapes < b.count && b[escapes] == 34
        if escapedQuote { j = escapes + 1 } else if j < b.count, b[j] == 34 || b[j] == 39 { quote = b[j]; j += 1 }
        for scheme in schemes where matchesLowercase(b, j, scheme) {
            j += scheme.count
            break
        }
        // `PWD=/home/app` in an environment dump is the working directory.
        if b[start] | 0x20 == UInt8(ascii: "p"), matched - start == 3, j < b.count, b[j] == 47 { return nil }
        let end = escapedQuote ? escapedQuoteEnd(b, j) : quote == 0 ? valueEndIndex(b, j) : quotedValueEnd(b, j, quote: quote)
        // `password: null`, `token=` : nothing to hide.
        if end - j == 4, matchesLowercase(b, j, Array("null".utf8)) || matchesLowercase(b, j, Array("none".utf8)) { return nil }
        return end > j ? (j, end, quotedKey && quote == 0, isAuthorization) : nil
    }

    /// A quoted value ends at its closing quote (a backslash escapes one), so
    /// `password="two words"` and JSON `"ab\"cd"` are masked whole.
    static func quotedValueEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, quote: UInt8) -> Int {
        var end = start
        while end < b.count, b[end] != quote, b[end] != 10 {
            end += b[end] == 92 && end + 1 < b.count ? 2 : 1
        }
        return min(end, b.count)
    }

    /// The end of a value opened by an escaped quote: the next run of backslashes before a quote.
    static func escapedQuoteEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var end = start
        while end < b.count {
            if b[end] == 92 {
                var k = end
                while k < b.count, b[k] == 92 { k += 1 }
                if k < b.count, b[k] == 34 { return end }
                end = k
            } else {
                end += 1
            }
        }
        return b.count
    }

    static func looksLikeCredential(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var digit = false
        for k in start..<end {
            let c = b[k]
            if isDigit(c) { digit = true } else if !(isTokenByte(c) || c == 43 || c == 47 || c == 61 || c == 46 || c == 126) { return false }
        }
        return digit
    }

    static func valueEndIndex(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var end = start
        while end < b.count {
            let c = b[end]
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 34 || c == 39 || c == 38 || c == 44 || c == 59 || c == 125 || c == 41 { break }
            end += 1
        }
        return end
    }

    // MARK: credential shapes

    /// `Cookie:` / `Set-Cookie:` (also as a JSON key or `cookie=`): the header value's range;
    /// `setCookie` when only its first pair carries a secret (the rest are attributes).
    static func cookieHeader(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (range: Range<Int>, setCookie: Bool)? {
        guard matchesLowercase(b, i, Array("cookie".utf8)) else { return nil }
        var j = i + 6
        if j < b.count, b[j] == 34 { j += 1 }
        while j < b.count, b[j] == 32 { j += 1 }
        guard j < b.count, b[j] == 58 || b[j] == 61 else { return nil }
        j += 1
        while j < b.count, b[j] == 32 { j += 1 }
        var quote: UInt8 = 0
        if j < b.count, b[j] == 34 || b[j] == 39 { quote = b[j]; j += 1 }
        var end = j
        while end < b.count, b[end] != 10, b[end] != 13, quote == 0 || b[end] != quote { end += 1 }
        let setCookie = i >= 4 && matchesLowercase(b, i - 4, Array("set-".utf8))
        return end > j ? (j..<end, setCookie) : nil
    }

    /// The next `name=value` value of a cookie list within `from..<end`.
    static func cookieValue(_ b: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Range<Int>? {
        var k = from
        while k < end, b[k] != 61 { k += 1 }
        guard k < end else { return nil }
        let start = k + 1
        var stop = start
        while stop < end, b[stop] != 59, b[stop] != 32 || stop == start { stop += 1 }
        while stop > start, b[stop - 1] == 32 { stop -= 1 }
        return stop > start ? start..<stop : nil
    }

    /// `scheme://user:password@host`: the passwords, found from each `/` (memchr) that follows a `:` and precedes a `/`.
    static func urlPasswords(_ b: UnsafeBufferPointer<UInt8>, into found: inout [(range: Range<Int>, rule: Rule)]) {
        // A userinfo needs an `@`: most records have none, and one memchr says so.
        guard let base = b.baseAddress, memchr(base, 64, b.count) != nil else { return }
        var at = 1
        while at + 1 < b.count, let hit = memchr(base + at, 47, b.count - at - 1) {
            let k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            at = k + 1
            guard b[k - 1] == 58, b[k + 1] == 47, let password = urlPassword(b, from: k + 2) else { continue }
            found.append((password, .urlPassword))
            at = password.upperBound
        }
    }

    /// The password of the userinfo that starts at `from` (just past `://`), if there is one.
    static func urlPassword(_ b: UnsafeBufferPointer<UInt8>, from: Int) -> Range<Int>? {
        var k = from
        var colon = -1
        while k < b.count {
            let c = b[k]
            if c == 64 { break }  // @
            if c == 47 || c == 32 || c == 63 || c == 35 || c == 10 || c == 34 || c == 39 || c == 9 || c == 92 { return nil }
            if c == 58 && colon < 0 { colon = k }
            k += 1
        }
        guard k < b.count, colon >= 0, k > colon + 1 else { return nil }
        return (colon + 1)..<k
    }

    /// `eyJ…​.…​.…`: a JWT (header and payload are base64url JSON, so both start with `eyJ` or at least are long).
    static func jwtEnd(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        guard hasPrefix(b, i, "eyJ") else { return nil }
        var k = i
        var segments = 0
        var segmentStart = i
        while true {
            while k < b.count, isTokenByte(b[k]) { k += 1 }
            if k - segmentStart < (segments == 2 ? 0 : 10) { return nil }
            segments += 1
            if segments == 3 || k >= b.count || b[k] != 46 { break }
            k += 1
            segmentStart = k
        }
        return segments == 3 ? k : nil
    }

    /// `-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED |DSA ]PRIVATE KEY-----` … `-----END`: the body.
    /// A block cut short (no END line in the record) is masked to the record's end.
    static func pemBody(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> Range<Int>? {
        guard i >= 5, hasPrefix(b, i, "BEGIN "), b[i - 1] == 45, b[i - 5] == 45 else { return nil }
        var k = i + 6
        while k < b.count, b[k] != 45, b[k] != 10 { k += 1 }
        guard k - 11 >= i + 6, hasPrefix(b, k - 11, "PRIVATE KEY") else { return nil }
        while k < b.count, b[k] == 45 { k += 1 }
        let bodyStart = k
        var end = k
        while end < b.count, !(b[end] == 45 && hasPrefix(b, end, "-----END")) { end += 1 }
        return end > bodyStart ? bodyStart..<end : nil
    }

    /// AKIA/ASIA followed by 16 upper-case letters or digits.
    static func awsKeyEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        guard start + 20 <= b.count, b[start] == 65, b[start + 2] == 73, b[start + 3] == 65,
              b[start + 1] == 75 || b[start + 1] == 83 else { return nil }
        for k in start + 4..<start + 20 where !((b[k] >= 65 && b[k] <= 90) || isDigit(b[k])) { return nil }
        if start + 20 < b.count, isWordByte(b[start + 20]) { return nil }
        return start + 20
    }

    /// The end of a run of `accepts` bytes from `start`, at least `min` long and not followed by a word byte.
    static func runEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, min: Int, _ accepts: (UInt8) -> Bool) -> Int? {
        var k = start
        while k < b.count, accepts(b[k]) { k += 1 }
        return k - start >= min ? k : nil
    }

    static func hasDigitAndLetter(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var digit = false, letter = false
        for k in start..<end {
            if isDigit(b[k]) { digit = true } else if isLetter(b[k]) { letter = true }
            if digit && letter { return true }
        }
        return false
    }

    // MARK: numbers

    /// Whether the key just before `start` (`trace_id=`, `"offset": `) names an id, a position
    /// or a time: a digit run there is a number of that kind, not a card.
    static func followsNumericKey(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Bool {
        var k = start - 1
        while k >= 0, b[k] == 32 || b[k] == 34 || b[k] == 39 { k -= 1 }
        if k >= 0, b[k] == 61 || b[k] == 58 { k -= 1 }  // `offset=N`, `"offset": N`, or `offset N`
        while k >= 0, b[k] == 32 || b[k] == 34 || b[k] == 39 { k -= 1 }
        var keyStart = k
        while keyStart >= 0, isWordByte(b[keyStart]) || b[keyStart] == 46 || b[keyStart] == 45 { keyStart -= 1 }
        guard k > keyStart else { return false }
        let key = String(decoding: UnsafeBufferPointer(rebasing: b[(keyStart + 1)...k]), as: UTF8.self).lowercased()
        for suffix in ["id", "ids", "offset", "seq", "sequence", "ts", "time", "timestamp", "nanos", "ns", "ms", "us", "epoch", "bytes", "size", "count", "number_of"]
        where key.hasSuffix(suffix) {
            return true
        }
        return false
    }

    /// 13–19 digits with a card issuer's prefix, contiguous or in a card grouping (4-4-4-4,
    /// 4-4-4-4-3, 4-6-5, 4-6-4) with one kind of separator, passing Luhn, standing alone: not
    /// inside an identifier (`blk_-1608…`), a decimal, a date or a version, nor after an id key.
    @inline(__always) static func cardEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        // Most numbers are short: a card is 13+ digits at once, or a group of exactly 4 followed by more.
        var first = start
        while first < b.count, first - start < 13, isDigit(b[first]) { first += 1 }
        if first - start < 13 && (first - start != 4 || first + 1 >= b.count || !isDigit(b[first + 1])) { return nil }
        return cardCandidateEnd(b, start)
    }

    /// The full check of a digit run long enough to be a card (out of line: rarely reached).
    @inline(never) static func cardCandidateEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        if start > 0 {
            let before = b[start - 1]
            if before == 95 || before == 45 || before == 46 || before == 43 || before == 47 && start > 1 && isDigit(b[start - 2]) { return nil }
        }
        // Up to five digit groups, one kind of separator between them (no array: this runs at
        // every number that starts a word).
        var g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0
        var groupCount = 0
        var j = start
        var separator: UInt8 = 0
        var run = 0
        var lastDigitEnd = start
        func close() {
            switch groupCount {
            case 0: g0 = run
            case 1: g1 = run
            case 2: g2 = run
            case 3: g3 = run
            default: g4 = run
            }
            groupCount += 1
        }
        while j < b.count {
            let c = b[j]
            if isDigit(c) {
                run += 1; j += 1; lastDigitEnd = j
                if run > 19 { return nil }
            } else if (c == 32 || c == 45), run > 0, j + 1 < b.count, isDigit(b[j + 1]), separator == 0 || separator == c, groupCount < 4 {
                // Only a first group of 4 can start a grouped number; a longer one stands alone.
                if groupCount == 0 && run != 4 { break }
                close(); run = 0; separator = c; j += 1
            } else {
                break
            }
        }
        if run > 0 { close() }
        var end: Int
        var count: Int
        if g0 >= 13 {
            // Contiguous: the first group alone (what follows it is another number).
            count = g0
            end = start + g0
        } else {
            guard g0 == 4 else { return nil }
            let fits = (groupCount == 5 && g1 == 4 && g2 == 4 && g3 == 4 && g4 == 3)
                || (groupCount == 4 && g1 == 4 && g2 == 4 && g3 == 4)
                || (groupCount == 3 && g1 == 6 && (g2 == 5 || g2 == 4))
            guard fits else { return nil }
            count = g0 + g1 + g2 + g3 + g4
            end = lastDigitEnd
        }
        if end < b.count {
            let after = b[end]
            if isWordByte(after) { return nil }
            if (after == 46 || after == 45 || after == 58 || after == 47) && end + 1 < b.count && isDigit(b[end + 1]) { return nil }
        }
        // The issuer prefix: the first digits of the number.
        var prefix = 0, seen = 0, k = start
        while seen < 6, k < end {
            if isDigit(b[k]) { prefix = prefix * 10 + Int(b[k] - 48); seen += 1 }
            k += 1
        }
        guard issuerAccepts(prefix6: prefix, length: count), !followsNumericKey(b, start) else { return nil }
        var sum = 0, position = 0
        k = end - 1
        while k >= start {
            if isDigit(b[k]) {
                let digit = Int(b[k] - 48)
                if position % 2 == 1 { sum += digit * 2 > 9 ? digit * 2 - 9 : digit * 2 } else { sum += digit }
                position += 1
            }
            k -= 1
        }
        return sum % 10 == 0 ? end : nil
    }

    /// Card schemes by prefix (first six digits) and length: Visa, Mastercard, Amex, Discover,
    /// UnionPay, JCB, Diners, Maestro, Mir.
    static func issuerAccepts(prefix6 p: Int, length: Int) -> Bool {
        let p1 = p / 100_000, p2 = p / 10_000, p3 = p / 1000, p4 = p / 100
        switch p1 {
        case 4: return [13, 16, 19].contains(length)                                            // Visa
        case 5:
            if (51...55).contains(p2) { return length == 16 }                                    // Mastercard
            return p2 == 50 || (56...58).contains(p2) ? (13...19).contains(length) : false       // Maestro
        case 2:
            if (2221...2720).contains(p4) { return length == 16 }                                // Mastercard 2-series
            return (2200...2204).contains(p4) && length == 16                                    // Mir
        case 3:
            if p2 == 34 || p2 == 37 { return length == 15 }                                      // Amex
            if (3528...3589).contains(p4) { return (16...19).contains(length) }                  // JCB
            if (300...305).contains(p3) || p2 == 36 || p2 == 38 || p2 == 39 { return (14...19).contains(length) }  // Diners
            return false
        case 6: return (13...19).contains(length)                                                // Discover, UnionPay, Maestro
        default: return false
        }
    }

    /// Opt-in: 17 digits and a check character (digit or X), a valid birth date (positions 7–14), ISO 7064 mod 11-2.
    static func residentIDEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        guard start + 18 <= b.count else { return nil }
        if start > 0, isWordByte(b[start - 1]) || b[start - 1] == 45 { return nil }
        for k in start..<start + 17 where !isDigit(b[k]) { return nil }
        let check = b[start + 17]
        guard isDigit(check) || check == 88 || check == 120 else { return nil }
        if start + 18 < b.count, isWordByte(b[start + 18]) { return nil }
        let year = Int(b[start + 6] - 48) * 1000 + Int(b[start + 7] - 48) * 100 + Int(b[start + 8] - 48) * 10 + Int(b[start + 9] - 48)
        let month = Int(b[start + 10] - 48) * 10 + Int(b[start + 11] - 48)
        let day = Int(b[start + 12] - 48) * 10 + Int(b[start + 13] - 48)
        guard (1900...2100).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        var sum = 0
        for k in 0..<17 { sum += Int(b[start + k] - 48) * weights[k] }
        let expected = Array("10X98765432".utf8)[sum % 11]
        return (check == 120 ? 88 : check) == expected ? start + 18 : nil
    }

    /// Opt-in: `+` and 8–15 digits (single spaces, dashes or dots between groups), or a
    /// mainland-China mobile number (11 digits, 1[3-9]…) standing alone.
    static func phoneEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        if start > 0, b[start - 1] == 43 {
            var k = start, digits = 0, end = start
            while k < b.count {
                if isDigit(b[k]) { digits += 1; k += 1; end = k }
                else if (b[k] == 32 || b[k] == 45 || b[k] == 46), k + 1 < b.count, isDigit(b[k + 1]) { k += 1 }
                else { break }
            }
            guard (8...15).contains(digits), end == b.count || !isWordByte(b[end]) else { return nil }
            return end
        }
        guard start + 11 <= b.count, b[start] == 49, (51...57).contains(b[start + 1]) else { return nil }
        if start > 0, isWordByte(b[start - 1]) || b[start - 1] == 45 || b[start - 1] == 46 { return nil }
        for k in start..<start + 11 where !isDigit(b[k]) { return nil }
        if start + 11 < b.count, isWordByte(b[start + 11]) || b[start + 11] == 46 { return nil }
        return followsNumericKey(b, start) ? nil : start + 11
    }

    /// Opt-in: `local@domain.tld` ranges, found from each `@`.
    static func emailRanges(_ b: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var at = 0
        while let base = b.baseAddress, at < b.count, let hit = memchr(base + at, 64, b.count - at) {
            let k = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            at = k + 1
            var start = k
            while start > 0, isWordByte(b[start - 1]) || b[start - 1] == 46 || b[start - 1] == 45 || b[start - 1] == 43 { start -= 1 }
            var end = k + 1, dots = 0
            while end < b.count, isAlphanumeric(b[end]) || b[end] == 45 || (b[end] == 46 && end + 1 < b.count && isAlphanumeric(b[end + 1])) {
                if b[end] == 46 { dots += 1 }
                end += 1
            }
            // Not `user:pass@host` of a URL (that is url_password's), and a real domain.
            if start < k, dots > 0, end > k + 3, !(start > 0 && b[start - 1] == 58), isAlphanumeric(b[start]) {
                ranges.append(start..<end)
            }
        }
        return ranges
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
