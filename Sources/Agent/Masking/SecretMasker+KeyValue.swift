import LogModel

/// The `key = value` rule (and `Bearer …` / `Basic …` without a key): which words may start a
/// key, where a key's value starts and ends, and what is a credential rather than prose.
extension SecretMasker {
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

    /// Per first two letters (26 × first + second), the third letters a key or a scheme may
    /// have (all keys and schemes begin with three letters): "payment" and "status" go no further.
    static let keyTriples: [UInt32] = {
        var triples = [UInt32](repeating: 0, count: 26 * 26)
        for word in keys + schemes {
            triples[Int(word[0] &- 97) * 26 + Int(word[1] &- 97)] |= 1 << UInt32(word[2] &- 97)
        }
        return triples
    }()

    /// Per first letter (a–z), the second letters a key or a scheme may have (bit 0 = a), read
    /// off `keyTriples`: the masker's word filter (`candidateWords`) is made of these.
    static let keyPrefixes: [UInt32] = (0..<26).map { first in
        (0..<26).reduce(0) { bits, second in keyTriples[first * 26 + second] != 0 ? bits | 1 << UInt32(second) : bits }
    }

    @inline(__always) static func mayStartKey(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Bool {
        guard start + 2 < b.count else { return false }
        let first = (b[start] | 0x20) &- 97, second = (b[start + 1] | 0x20) &- 97, third = (b[start + 2] | 0x20) &- 97
        return first < 26 && second < 26 && third < 26 && keyTriples[Int(first) &* 26 &+ Int(second)] >> UInt32(third) & 1 != 0
    }

    /// `key[suffix]["'] *[=:] *["']?(scheme )?value`: where the value starts and ends.
    /// `quoteMarker`: a JSON key (`"token": 123`) with an unquoted value, replaced by `"[MASKED]"`.
    static func keyValueEnd(_ b: UnsafeBufferPointer<UInt8>, _ start: Int)
        -> (valueStart: Int, valueEnd: Int, quoteMarker: Bool, authorization: Bool)? {
        // The caller calls this only for words `mayStartKey` lets through (their first two
        // letters begin a key or a scheme). A key needs `=` or `:` right after it (past its
        // suffix, a quote, spaces): "password" in prose is rejected here without comparing it
        // to every key.
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
}
