import Foundation
import LogModel

/// Numbers that are secrets or personal data (cards; opt-in resident ids, phones) and e-mail
/// addresses — and the numbers that are neither.
extension SecretMasker {

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
        // A grouped number is 4 digits, a space or a dash, and a group of 4 or 6.
        if first - start < 13 && (first - start != 4 || !isGroupStart(b, first)) { return nil }
        return cardCandidateEnd(b, start)
    }

    @inline(__always) static func isGroupStart(_ b: UnsafeBufferPointer<UInt8>, _ separator: Int) -> Bool {
        guard separator + 4 < b.count, b[separator] == 32 || b[separator] == 45 else { return false }
        return isDigit(b[separator + 1]) && isDigit(b[separator + 2]) && isDigit(b[separator + 3]) && isDigit(b[separator + 4])
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
}
