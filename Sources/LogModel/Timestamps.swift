/// Timestamps of the formats services write, normalised to RFC 3339 UTC with milliseconds.
/// Pure calendar math (no Foundation formatters): the agent does this for every line.
public enum Timestamps {
    /// Parses `2026-11-25 10:00:00,123`, `2026-11-25T10:00:00.123456Z`, `…+02:00`, `…-0500`.
    /// A time without a zone is read in `zone` (UTC unless given). Returns nil when the text is not such a time.
    public static func normalise(_ text: some StringProtocol, zone: ZoneRule = .utc) -> String? {
        normalise(bytes: Array(text.utf8)[...], zone: zone)
    }

    public static func normalise(bytes slice: ArraySlice<UInt8>, zone: ZoneRule = .utc) -> String? {
        slice.withUnsafeBufferPointer { normalise(bytes: $0, zone: zone) }
    }

    /// The same on bytes, allocating only the result (the agent's per-line path). Accepts
    /// `-` or `/` between the date's parts (nginx writes `2026/12/06 04:00:31`).
    public static func normalise(bytes b: UnsafeBufferPointer<UInt8>, zone: ZoneRule = .utc) -> String? {
        epochMillis(bytes: b, zone: zone).map { format(epochMillis: $0) }
    }

    /// The instant of such a time, in milliseconds since the epoch.
    public static func epochMillis(bytes b: UnsafeBufferPointer<UInt8>, zone: ZoneRule = .utc) -> Int64? {
        guard b.count >= 19, let year = digits(b, 0, 4), b[4] == 45 || b[4] == 47, let month = digits(b, 5, 2), b[7] == b[4],
              let day = digits(b, 8, 2), b[10] == 32 || b[10] == 84 || b[10] == 116,
              let hour = digits(b, 11, 2), b[13] == 58, let minute = digits(b, 14, 2), b[16] == 58,
              let second = digits(b, 17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var millis = 0
        if index < b.count, b[index] == 44 || b[index] == 46 {  // , or .
            index += 1
            var scale = 100
            while index < b.count, (48...57).contains(b[index]) {
                millis += Int(b[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds: Int?
        // `10:00:00 -0800` (strftime's `%z` after a space): hh mm or hh:mm, then the end or a space.
        if index + 5 < b.count || index + 5 == b.count, index < b.count, b[index] == 32, b[index + 1] == 43 || b[index + 1] == 45 {
            let colon = index + 4 < b.count && b[index + 4] == 58
            let end = index + (colon ? 7 : 6)
            if end <= b.count, digits(b, index + 2, 2) != nil, digits(b, end - 2, 2) != nil, end == b.count || b[end] == 32 {
                index += 1
            }
        }
        if index < b.count {
            let sign = b[index]
            if sign == 90 || sign == 122 {  // Z
                offsetSeconds = 0
            } else if sign == 43 || sign == 45, let oh = digits(b, index + 1, 2) {
                var om = 0
                if index + 3 < b.count {
                    om = (b[index + 3] == 58 ? digits(b, index + 4, 2) : digits(b, index + 3, 2)) ?? 0
                }
                offsetSeconds = (oh * 3600 + om * 60) * (sign == 45 ? -1 : 1)
            }
        }
        return epochMillis(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                           millis: millis, offsetSeconds: offsetSeconds, zone: zone)
    }

    /// The RFC 3339 UTC text of a calendar time: at `offsetSeconds` east of UTC when the source
    /// wrote one, else a wall-clock time in `zone`.
    public static func compose(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millis: Int,
                               offsetSeconds: Int?, zone: ZoneRule) -> String {
        format(epochMillis: epochMillis(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                                        millis: millis, offsetSeconds: offsetSeconds, zone: zone))
    }

    public static func epochMillis(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millis: Int,
                                   offsetSeconds: Int?, zone: ZoneRule) -> Int64 {
        let wall = Int64(daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second)
        let utc = offsetSeconds.map { wall - Int64($0) } ?? zone.utcSeconds(fromLocal: wall)
        return utc * 1000 + Int64(millis)
    }

    /// `yyyy-MM-ddTHH:mm:ss.SSSZ` for milliseconds since the epoch.
    public static func format(epochMillis: Int64) -> String { text(epochMillis: epochMillis).description }

    /// `format(epochMillis:)` without a heap allocation (the agent formats one per line).
    public static func text(epochMillis: Int64) -> InlineText {
        let millis = Int(((epochMillis % 1000) + 1000) % 1000)
        let seconds = Int((epochMillis - Int64(millis)) / 1000)
        let days = Int((Double(seconds) / 86_400).rounded(.down))
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = civilFromDays(days)
        let hour = secondOfDay / 3600, minute = secondOfDay % 3600 / 60, second = secondOfDay % 60
        return InlineText(count: 24) { out in
            // The year's last four digits (whatever the year); every other field is in range:
            // two digits at a time, no loop.
            var year = y
            for k in (0..<4).reversed() {  // (a `stride` here was not specialised: a value-witness call a digit)
                out[k] = UInt8(truncatingIfNeeded: 48 + year % 10)
                year /= 10
            }
            @inline(__always) func two(_ value: Int, _ at: Int, then separator: UInt8) {
                out[at] = UInt8(truncatingIfNeeded: 48 + value / 10)
                out[at + 1] = UInt8(truncatingIfNeeded: 48 + value % 10)
                out[at + 2] = separator
            }
            out[4] = 45
            two(m, 5, then: 45); two(d, 8, then: 84)
            two(hour, 11, then: 58); two(minute, 14, then: 58); two(second, 17, then: 46)
            out[20] = UInt8(truncatingIfNeeded: 48 + millis / 100)
            two(millis % 100, 21, then: 90)
        }
    }

    /// (year, month, day) in UTC of an RFC 3339 timestamp, for daily index names.
    /// Month of a three-letter English name (`Jan`…`Dec`, any case), as syslog and access logs write it.
    public static func month(_ b: UnsafeBufferPointer<UInt8>, _ at: Int) -> Int? {
        guard at + 3 <= b.count else { return nil }
        let key = (UInt32(b[at] | 0x20) << 16) | (UInt32(b[at + 1] | 0x20) << 8) | UInt32(b[at + 2] | 0x20)
        switch key {
        case 0x6A616E: return 1; case 0x666562: return 2; case 0x6D6172: return 3; case 0x617072: return 4
        case 0x6D6179: return 5; case 0x6A756E: return 6; case 0x6A756C: return 7; case 0x617567: return 8
        case 0x736570: return 9; case 0x6F6374: return 10; case 0x6E6F76: return 11; case 0x646563: return 12
        default: return nil
        }
    }

    /// The year of a year-less date (syslog, klog): the host clock's year, or the previous one
    /// when that would put the date more than a month ahead (December lines read in January).
    public static func inferYear(month: Int, nowMillis: Int64) -> Int {
        let (year, currentMonth, _) = civilFromDays(Int(nowMillis / 86_400_000))
        return month > currentMonth + 1 ? year - 1 : year
    }

    public static func utcDate(of timestamp: String) -> (Int, Int, Int)? {
        let b = Array(timestamp.utf8.prefix(10))
        guard b.count == 10, let y = digits(b, 0, 4), let m = digits(b, 5, 2), let d = digits(b, 8, 2) else { return nil }
        return (y, m, d)
    }

    public static func epochMillis(of timestamp: String) -> Int64? {
        guard let normal = normalise(timestamp) else { return nil }
        let b = Array(normal.utf8)
        guard let y = digits(b, 0, 4), let mo = digits(b, 5, 2), let d = digits(b, 8, 2), let h = digits(b, 11, 2),
              let mi = digits(b, 14, 2), let s = digits(b, 17, 2), let ms = digits(b, 20, 3) else { return nil }
        return Int64(daysFromCivil(year: y, month: mo, day: d) * 86_400 + h * 3600 + mi * 60 + s) * 1000 + Int64(ms)
    }

    static func digits(_ b: [UInt8], _ start: Int, _ count: Int) -> Int? {
        b.withUnsafeBufferPointer { digits($0, start, count) }
    }

    public static func digits(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        guard start + count <= b.count else { return nil }
        var value = 0
        for i in start..<start + count {
            let c = b[i]
            guard c >= 48 && c <= 57 else { return nil }
            value = value * 10 + Int(c - 48)
        }
        return value
    }

    /// Howard Hinnant's days-from-civil: days since 1970-01-01 of a proleptic Gregorian date.
    /// Days since 1970-01-01 of a calendar date (proleptic Gregorian).
    public static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int { daysFromCivil(year: year, month: month, day: day) }

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// (year, month, day) of a day number since 1970-01-01.
    public static func civil(days: Int) -> (Int, Int, Int) { civilFromDays(days) }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// The last second of a Python `logging` time (`YYYY-MM-DD HH:MM:SS,mmm`) read, with its instant
/// and its `@timestamp` text: consecutive lines mostly share their second, so the date, the zone
/// and the formatting are worked out once per second, not once per line. Owned by the thread
/// reading the lines (the agent's shipping thread keeps one per input).
public struct PythonSecondCache: Sendable {
    /// Bytes 0–7, 8–15 and 15–18 of the second last read (`YYYY-MM-DD HH:MM:SS`).
    private var head: UInt64 = 0, middle: UInt64 = 0, tail: UInt32 = 0
    private var cached = false
    private var utcSeconds: Int64 = 0
    /// `@timestamp` of the cached second, milliseconds `000`.
    private var text: InlineText = ""

    public init() {}

    /// `@timestamp` and epoch milliseconds of `b` when it is 23 bytes: a date and time
    /// (`YYYY-MM-DD HH:MM:SS`, as `Timestamps.epochMillis(bytes:zone:)` reads them), `,` and three
    /// digits — Python's `asctime` — in `zone`; the same as `Timestamps.epochMillis(bytes:zone:)`
    /// and `Timestamps.text(epochMillis:)`. Nil for any other shape or an invalid date (the
    /// caller takes the general path).
    @inline(__always)
    public mutating func read(_ b: UnsafeBufferPointer<UInt8>, zone: ZoneRule) -> (text: InlineText, millis: Int64)? {
        guard b.count == 23, let base = b.baseAddress, b[19] == 44,
              b[20] &- 48 < 10, b[21] &- 48 < 10, b[22] &- 48 < 10 else { return nil }
        let raw = UnsafeRawPointer(base)
        let head = raw.loadUnaligned(as: UInt64.self), middle = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let tail = raw.loadUnaligned(fromByteOffset: 15, as: UInt32.self)
        if !(cached && head == self.head && middle == self.middle && tail == self.tail) {
            // A new second: its instant (no fraction, so a whole number of seconds) and text.
            guard let millis = Timestamps.epochMillis(bytes: UnsafeBufferPointer(rebasing: b[0..<19]), zone: zone) else { return nil }
            (self.head, self.middle, self.tail) = (head, middle, tail)
            utcSeconds = millis / 1000
            text = Timestamps.text(epochMillis: millis)
            cached = true
        }
        let ms = Int64(b[20] &- 48) * 100 + Int64(b[21] &- 48) * 10 + Int64(b[22] &- 48)
        var result = text
        // `YYYY-MM-DDTHH:MM:SS.mmmZ`: the milliseconds are the line's own digits.
        result.update { out in
            out[20] = b[20]
            out[21] = b[21]
            out[22] = b[22]
        }
        return (result, utcSeconds * 1000 + ms)
    }
}
