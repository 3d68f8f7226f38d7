import Foundation

/// Masks secrets before anything leaves the host: `password=`/`pwd=`/`secret=`/`token=`-style
/// values (also as JSON `"key": "value"`), `Authorization: Bearer|Basic …` credentials, AWS
/// access key ids, and card numbers that pass the Luhn check; plus configured regexes. Built-ins
/// are a byte scan (no regex), since every line goes through here.
public struct SecretMasker: @unchecked Sendable {
    public static let marker = "[MASKED]"
    static let markerBytes = Array(marker.utf8)
    static let keys: [[UInt8]] = ["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key",
                                  "access_key", "private_key", "credential", "authorization"].map { Array($0.utf8) }
    /// The keys by their first letter (a–z), so a word is compared only with keys it could be.
    static let keysByLetter: [[[UInt8]]] = (0..<26).map { letter in keys.filter { Int($0[0]) - 97 == letter } }
    static let schemes: [[UInt8]] = ["bearer ", "basic ", "token "].map { Array($0.utf8) }

    let custom: [NSRegularExpression]

    public init(customPatterns: [String] = []) throws {
        custom = try customPatterns.map { try NSRegularExpression(pattern: $0) }
    }

    /// The masked text and how many secrets were replaced.
    public func mask(_ text: String) -> (String, Int) {
        let (bytes, count) = mask(bytes: Array(text.utf8))
        return count > 0 ? (String(decoding: bytes, as: UTF8.self), count) : (text, 0)
    }

    /// The same on a whole record's bytes, before it is parsed: a secret is masked wherever it
    /// sits (message, stack trace, a JSON field). A JSON value stays valid JSON.
    public func mask(bytes: [UInt8]) -> ([UInt8], Int) {
        var count = 0
        var result = bytes
        let (masked, n) = Self.maskBuiltIn(bytes)
        if n > 0 {
            result = masked
            count += n
        }
        guard !custom.isEmpty else { return (result, count) }
        var text = String(decoding: result, as: UTF8.self)
        for regex in custom {
            let range = NSRange(text.startIndex..., in: text)
            let matches = regex.numberOfMatches(in: text, range: range)
            if matches > 0 {
                text = regex.stringByReplacingMatches(in: text, range: range, withTemplate: Self.marker)
                count += matches
            }
        }
        return (count > 0 ? Array(text.utf8) : result, count)
    }

    static func maskBuiltIn(_ bytes: [UInt8]) -> ([UInt8], Int) {
        bytes.withUnsafeBufferPointer { b in
            let (masked, count) = maskBuiltIn(b)
            return (masked ?? bytes, count)
        }
    }

    /// Visits the start of every word (a run of letters and digits; `_` separates, so
    /// db_password= and access_token= are caught) and nothing else. Nil when nothing matched:
    /// most lines hold no secret, and the output is built only from the first match on.
    static func maskBuiltIn(_ b: UnsafeBufferPointer<UInt8>) -> ([UInt8]?, Int) {
        var out: [UInt8] = []
        var copied = 0
        var count = 0
        /// Keeps b[copied..<start], writes the marker in place of b[start..<end], resumes at end.
        func replace(_ start: Int, _ end: Int, quoted: Bool = false) -> Int {
            if out.isEmpty { out.reserveCapacity(b.count + 16) }
            out.append(contentsOf: b[copied..<start])
            if quoted { out.append(34) }
            out.append(contentsOf: markerBytes)
            if quoted { out.append(34) }
            count += 1
            copied = end
            return end
        }
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            guard isLetter(c) || isDigit(c) else { i += 1; continue }
            // b[i] starts a word: every path below leaves i on a byte that is no letter or digit
            // (a replaced value ends at a separator), so no look-behind is needed.
            if isLetter(c) {
                if let end = keyValueEnd(b, i) {
                    i = replace(end.valueStart, end.valueEnd, quoted: end.quoteMarker)
                    continue
                }
                if let end = awsKeyEnd(b, i) {
                    i = replace(i, end)
                    continue
                }
            } else if let end = cardEnd(b, i) {
                i = replace(i, end)
                continue
            }
            i += 1
            while i < n, isLetter(b[i]) || isDigit(b[i]) { i += 1 }
        }
        if count == 0 { return (nil, 0) }
        out.append(contentsOf: b[copied...])
        return (out, count)
    }

    /// `key[suffix]["'] *[=:] *["']?(scheme )?value`: where the value starts and ends.
    /// `quoteMarker`: a JSON key (`"token": 123`) with an unquoted value, replaced by `"[MASKED]"`.
    static func keyValueEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> (valueStart: Int, valueEnd: Int, quoteMarker: Bool)? {
        // Every key and scheme starts with one of these letters: most words are rejected here.
        switch b[start] | 0x20 {
        case UInt8(ascii: "p"), UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "a"), UInt8(ascii: "c"), UInt8(ascii: "b"): break
        default: return nil
        }
        // A key needs `=` or `:` right after it (past its suffix, a quote, spaces): most words
        // ("status", "request") are rejected here without comparing them to every key.
        var probe = start
        while probe < b.count, isWordByte(b[probe]) || b[probe] == 45 { probe += 1 }
        if probe < b.count, b[probe] == 34 || b[probe] == 39 { probe += 1 }
        while probe < b.count, b[probe] == 32 { probe += 1 }
        let separated = probe < b.count && (b[probe] == 61 || b[probe] == 58)
        if !separated && b[start] | 0x20 != UInt8(ascii: "b") { return nil }
        var matched = -1
        if separated {
            for key in keysByLetter[Int(b[start] | 0x20) &- 97] where matchesLowercase(b, start, key) {
                matched = start + key.count
                break
            }
        }
        // Schemes appear without a key too: "Bearer abc…".
        if matched < 0 {
            for scheme in schemes.prefix(2) where matchesLowercase(b, start, scheme) {
                let valueStart = start + scheme.count
                let valueEnd = valueEndIndex(b, valueStart)
                return valueEnd - valueStart >= 8 ? (valueStart, valueEnd, false) : nil
            }
            return nil
        }
        var j = matched
        while j < b.count, isWordByte(b[j]) || b[j] == 45 { j += 1 }  // db_password_hash, api-key
        // A JSON key ("db_password"): the whole key token, prefix included, sits between quotes.
        var keyStart = start
        while keyStart > 0, isWordByte(b[keyStart - 1]) || b[keyStart - 1] == 45 { keyStart -= 1 }
        let quotedKey = j < b.count && b[j] == 34 && keyStart > 0 && b[keyStart - 1] == 34
        if j < b.count, b[j] == 34 || b[j] == 39 { j += 1 }
        while j < b.count, b[j] == 32 { j += 1 }
        guard j < b.count, b[j] == 61 || b[j] == 58 else { return nil }
        j += 1
        while j < b.count, b[j] == 32 { j += 1 }
        var quote: UInt8 = 0
        if j < b.count, b[j] == 34 || b[j] == 39 { quote = b[j]; j += 1 }
        for scheme in schemes where matchesLowercase(b, j, scheme) {
            j += scheme.count
            break
        }
        let end = quote == 0 ? valueEndIndex(b, j) : quotedValueEnd(b, j, quote: quote)
        return end > j ? (j, end, quotedKey && quote == 0) : nil
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

    static func valueEndIndex(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
        var end = start
        while end < b.count {
            let c = b[end]
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 34 || c == 39 || c == 38 || c == 44 || c == 59 || c == 125 || c == 41 { break }
            end += 1
        }
        return end
    }

    /// AKIA/ASIA followed by 16 upper-case letters or digits.
    static func awsKeyEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        guard start + 20 <= b.count, b[start] == 65, b[start + 2] == 73, b[start + 3] == 65,
              b[start + 1] == 75 || b[start + 1] == 83 else { return nil }
        for k in start + 4..<start + 20 where !((b[k] >= 65 && b[k] <= 90) || isDigit(b[k])) { return nil }
        if start + 20 < b.count, isWordByte(b[start + 20]) { return nil }
        return start + 20
    }

    /// 13–19 digits, optionally grouped by single spaces or dashes, passing Luhn. No allocation:
    /// it runs at every digit that starts a word.
    static func cardEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int? {
        var count = 0
        var j = start
        var lastDigitEnd = start
        while j < b.count, count <= 19 {
            if isDigit(b[j]) {
                count += 1
                j += 1
                lastDigitEnd = j
            } else if (b[j] == 32 || b[j] == 45), j + 1 < b.count, isDigit(b[j + 1]), count > 0 {
                j += 1
            } else {
                break
            }
        }
        guard (13...19).contains(count), lastDigitEnd == b.count || !isWordByte(b[lastDigitEnd]) else { return nil }
        var sum = 0, position = 0
        var k = lastDigitEnd - 1
        while k >= start {
            if isDigit(b[k]) {
                let digit = Int(b[k] - 48)
                if position % 2 == 1 { sum += digit * 2 > 9 ? digit * 2 - 9 : digit * 2 } else { sum += digit }
                position += 1
            }
            k -= 1
        }
        return sum % 10 == 0 ? lastDigitEnd : nil
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
        guard start + word.count <= b.count else { return false }
        for k in 0..<word.count {
            var c = b[start + k]
            if c >= 65 && c <= 90 { c += 32 }
            if c != word[k] { return false }
        }
        return true
    }

    // Unsigned range checks by wrapping subtraction: one compare each, no branches.
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 48 < 10 }
    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) &- 97 < 26 }
    @inline(__always) static func isWordByte(_ c: UInt8) -> Bool { isLetter(c) || isDigit(c) || c == 95 }
}
