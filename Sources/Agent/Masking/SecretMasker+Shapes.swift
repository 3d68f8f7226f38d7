import Foundation
import LogModel

/// The credential shapes the masker knows by their look: cookies, URL passwords, JWTs, PEM
/// bodies, provider tokens.
extension SecretMasker {

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
}
