import Foundation

/// How a wall-clock time written without a zone becomes UTC: the input's `timezone` (an IANA
/// name, `UTC`, `local` for the host's zone, or a fixed offset such as `+08:00`), compiled once
/// into a table of the zone's offset changes so the per-line conversion is a binary search.
///
/// Daylight-saving edges are resolved as Python's `datetime` does with `fold=0`: a wall time
/// that happens twice (the hour repeated when clocks go back) is the **first** of the two
/// instants, and a wall time that never happens (the hour skipped when clocks go forward) is
/// read with the offset in force **before** the change (02:30 on a spring-forward night in New
/// York is 07:30 UTC, i.e. 03:30 EDT). Both rules are deterministic: the same line gives the
/// same instant on every host with the same zone.
public struct ZoneRule: Sendable, Equatable {
    public let name: String
    /// UTC seconds at which the offset changes, ascending.
    let transitions: [Int64]
    /// `offsets[i]` is in force before `transitions[i]`; the last one after the last transition.
    let offsets: [Int64]

    public static let utc = ZoneRule(name: "UTC", transitions: [], offsets: [0])

    init(name: String, transitions: [Int64], offsets: [Int64]) {
        self.name = name
        self.transitions = transitions
        self.offsets = offsets
    }

    /// Nil when `name` is no zone this host knows.
    public init?(named name: String) {
        switch name {
        case "UTC", "utc", "Z", "Etc/UTC", "GMT":
            self = .utc
            return
        case "local", "":
            self.init(zone: TimeZone.current, name: "local (\(TimeZone.current.identifier))")
            return
        default:
            if let fixed = Self.fixedOffset(name) {
                self.init(name: name, transitions: [], offsets: [fixed])
                return
            }
            guard let zone = TimeZone(identifier: name) else { return nil }
            self.init(zone: zone, name: name)
        }
    }

    /// The zone's offset changes between 1900 and 2100, read from the system's zone database.
    init(zone: TimeZone, name: String) {
        var transitions: [Int64] = []
        var offsets: [Int64] = [Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: -2_208_988_800)))]
        var cursor = Date(timeIntervalSince1970: -2_208_988_800)
        let end = Date(timeIntervalSince1970: 4_102_444_800)
        while let next = zone.nextDaylightSavingTimeTransition(after: cursor), next < end, next > cursor {
            let offset = Int64(zone.secondsFromGMT(for: next))
            if offset != offsets.last! {
                transitions.append(Int64(next.timeIntervalSince1970.rounded()))
                offsets.append(offset)
            }
            cursor = next
        }
        self.init(name: name, transitions: transitions, offsets: offsets)
    }

    /// `+08:00`, `-0500`, `UTC+8`: seconds east of UTC.
    static func fixedOffset(_ text: String) -> Int64? {
        var body = Substring(text)
        if body.hasPrefix("UTC") || body.hasPrefix("GMT") { body = body.dropFirst(3) }
        guard let sign = body.first, sign == "+" || sign == "-" else { return nil }
        let digits = body.dropFirst().filter { $0 != ":" }
        guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy(\.isASCII), let number = Int(digits) else { return nil }
        let (hours, minutes) = digits.count <= 2 ? (number, 0) : (number / 100, number % 100)
        guard hours <= 14, minutes < 60 else { return nil }
        return Int64(hours * 3600 + minutes * 60) * (sign == "-" ? -1 : 1)
    }

    /// The offset in force at a UTC instant.
    public func offset(atUTC seconds: Int64) -> Int64 {
        offsets[firstTransition(after: seconds)]
    }

    /// Index of the first transition later than `seconds` (= transitions.count when none).
    @inline(__always) func firstTransition(after seconds: Int64) -> Int {
        var low = 0, high = transitions.count
        while low < high {
            let mid = (low + high) / 2
            if transitions[mid] <= seconds { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// UTC seconds of a wall-clock time (seconds since 1970-01-01 00:00 of that wall clock).
    @inline(__always) public func utcSeconds(fromLocal local: Int64) -> Int64 {
        transitions.isEmpty ? local - offsets[0] : utcSecondsAcrossTransitions(fromLocal: local)
    }

    /// The search, out of line: UTC and fixed-offset zones (most hosts) never run it.
    @inline(never) func utcSecondsAcrossTransitions(fromLocal local: Int64) -> Int64 {
        // Any candidate instant lies within 14 h (the largest offset) of the wall time.
        var index = firstTransition(after: local - 50_400)
        let windowEnd = local + 50_400
        if index >= transitions.count || transitions[index] > windowEnd { return local - offsets[index] }
        // Offset intervals meeting the window, oldest first: the first that holds its candidate wins.
        let fallback = local - offsets[index]
        while index <= transitions.count {
            let candidate = local - offsets[index]
            let startsAfter = index == 0 ? Int64.min : transitions[index - 1]
            let endsBefore = index < transitions.count ? transitions[index] : Int64.max
            if candidate >= startsAfter && candidate < endsBefore { return candidate }
            if index == transitions.count || transitions[index] > windowEnd { break }
            index += 1
        }
        return fallback
    }
}
