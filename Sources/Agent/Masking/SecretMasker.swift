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
    static let schemes: [[UInt8]] = ["bearer ", "basic ", "token "].map { Array($0.utf8) }

    let custom: [NSRegularExpression]

    public init(customPatterns: [String] = []) throws {
        custom = try customPatterns.map { try NSRegularExpression(pattern: $0) }
    }

    /// The masked text and how many secrets were replaced.
    public func mask(_ text: String) -> (String, Int) {
        var count = 0
        var result = text
        let bytes = Array(text.utf8)
        if Self.mightContainSecret(bytes) {
            let (masked, n) = Self.maskBuiltIn(bytes)
            if n > 0 {
                result = String(decoding: masked, as: UTF8.self)
                count += n
            }
        }
        for regex in custom {
            let range = NSRange(result.startIndex..., in: result)
            let matches = regex.numberOfMatches(in: result, range: range)
            if matches > 0 {
                result = regex.stringByReplacingMatches(in: result, range: range, withTemplate: Self.marker)
                count += matches
            }
        }
        return (result, count)
    }

    /// A cheap pre-check: secrets need a separator, a long digit run, or an AWS key prefix.
    static func mightContainSecret(_ b: [UInt8]) -> Bool {
        var digitRun = 0
        for byte in b {
            if byte == 61 || byte == 58 { return true }  // = :
            if byte >= 48 && byte <= 57 { digitRun += 1; if digitRun >= 12 { return true } }
            else if byte != 32 && byte != 45 { digitRun = 0 }
            if byte == 65 { return true }  // 'A' of AKIA/ASIA
            if byte == 66 || byte == 98 { return true }  // Bearer/Basic
        }
        return false
    }

    static func maskBuiltIn(_ b: [UInt8]) -> ([UInt8], Int) {
        // Most lines hold no secret: the output is built only from the first match on.
        var out: [UInt8] = []
        var copied = 0
        var count = 0
        /// Keeps b[copied..<start], writes the marker in place of b[start..<end], resumes at end.
        func replace(_ start: Int, _ end: Int) -> Int {
            if out.isEmpty { out.reserveCapacity(b.count + 16) }
            out.append(contentsOf: b[copied..<start])
            out.append(contentsOf: markerBytes)
            count += 1
            copied = end
            return end
        }
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            // `_` counts as a boundary so db_password= and access_token= are caught.
            let atBoundary = i == 0 || !(isLetter(b[i - 1]) || isDigit(b[i - 1]))
            if atBoundary, isLetter(c) {
                if let end = keyValueEnd(b, i) {
                    i = replace(end.valueStart, end.valueEnd)
                    continue
                }
                if let end = awsKeyEnd(b, i) {
                    i = replace(i, end)
                    continue
                }
            }
            if atBoundary, isDigit(c), let end = cardEnd(b, i) {
                i = replace(i, end)
                continue
            }
            i += 1
        }
        if count == 0 { return (b, 0) }
        out.append(contentsOf: b[copied...])
        return (out, count)
    }

    /// `key[suffix]["'] *[=:] *["']?(scheme )?value`: where the value starts and ends.
    static func keyValueEnd(_ b: [UInt8], _ start: Int) -> (valueStart: Int, valueEnd: Int)? {
        // Every key and scheme starts with one of these letters: most words are rejected here.
        switch b[start] | 0x20 {
        case UInt8(ascii: "p"), UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "a"), UInt8(ascii: "c"), UInt8(ascii: "b"): break
        default: return nil
        }
        var matched = -1
        for key in keys where matchesLowercase(b, start, key) {
            matched = start + key.count
            break
        }
        // Schemes appear without a key too: "Bearer abc…".
        if matched < 0 {
            for scheme in schemes.prefix(2) where matchesLowercase(b, start, scheme) {
                let valueStart = start + scheme.count
                let valueEnd = valueEndIndex(b, valueStart)
                return valueEnd - valueStart >= 8 ? (valueStart, valueEnd) : nil
            }
            return nil
        }
        var j = matched
        while j < b.count, isWordByte(b[j]) || b[j] == 45 { j += 1 }  // db_password_hash, api-key
        if j < b.count, b[j] == 34 || b[j] == 39 { j += 1 }
        while j < b.count, b[j] == 32 { j += 1 }
        guard j < b.count, b[j] == 61 || b[j] == 58 else { return nil }
        j += 1
        while j < b.count, b[j] == 32 { j += 1 }
        if j < b.count, b[j] == 34 || b[j] == 39 { j += 1 }
        for scheme in schemes where matchesLowercase(b, j, scheme) {
            j += scheme.count
            break
        }
        let end = valueEndIndex(b, j)
        return end > j ? (j, end) : nil
    }

    static func valueEndIndex(_ b: [UInt8], _ start: Int) -> Int {
        var end = start
        while end < b.count {
            let c = b[end]
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 34 || c == 39 || c == 38 || c == 44 || c == 59 || c == 125 || c == 41 { break }
            end += 1
        }
        return end
    }

    /// AKIA/ASIA followed by 16 upper-case letters or digits.
    static func awsKeyEnd(_ b: [UInt8], _ start: Int) -> Int? {
        guard start + 20 <= b.count, b[start] == 65, b[start + 2] == 73, b[start + 3] == 65,
              b[start + 1] == 75 || b[start + 1] == 83 else { return nil }
        for k in start + 4..<start + 20 where !((b[k] >= 65 && b[k] <= 90) || isDigit(b[k])) { return nil }
        if start + 20 < b.count, isWordByte(b[start + 20]) { return nil }
        return start + 20
    }

    /// 13–19 digits, optionally grouped by single spaces or dashes, passing Luhn. No allocation:
    /// it runs at every digit that starts a word.
    static func cardEnd(_ b: [UInt8], _ start: Int) -> Int? {
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

    static func matchesLowercase(_ b: [UInt8], _ start: Int, _ word: [UInt8]) -> Bool {
        guard start + word.count <= b.count else { return false }
        for k in 0..<word.count {
            var c = b[start + k]
            if c >= 65 && c <= 90 { c += 32 }
            if c != word[k] { return false }
        }
        return true
    }

    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    @inline(__always) static func isLetter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
    @inline(__always) static func isWordByte(_ c: UInt8) -> Bool { isLetter(c) || isDigit(c) || c == 95 }
}
