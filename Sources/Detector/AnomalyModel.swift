import Foundation

/// How surprising one closed window's value of one signal is, upwards and downwards, as
/// calibrated scores in [0, 1]: 0.5 is the edge of what the signal has done before; above it
/// the value is beyond that, and the score approaches 1 the further beyond it is.
public struct SignalScore: Sendable, Equatable {
    public var up: Double
    public var down: Double
    /// What the model expected for this window (the baseline an alert reports).
    public var expected: Double
    /// The usual range before this window (its record high and low, at least the expectation ± 3
    /// standard deviations): an alert that fired resolves once its signal is back inside it.
    public var normalHigh: Double
    public var normalLow: Double

    public init(up: Double, down: Double, expected: Double, normalHigh: Double? = nil, normalLow: Double? = nil) {
        self.up = up
        self.down = down
        self.expected = expected
        self.normalHigh = normalHigh ?? expected
        self.normalLow = normalLow ?? expected
    }

    public static let none = SignalScore(up: 0, down: 0, expected: 0)
}

/// The streaming model of one signal of one service (a number per closed window: a count, a
/// share, or a measured value), in constant memory (~3 KB), Codable: the detector keeps it in
/// Kafka (`logship.detector.state`) so a restart does not relearn.
///
/// Two views of the same history, the larger wins:
/// - **Range**: how far the value — and the mean of the last `rangeSpan` windows, so a sustained
///   shift counts as much as a spike — lies beyond the highest (or lowest) the signal has reached
///   before, in units of that range. The range relaxes toward the signal's usual level with a
///   half-life of `rangeHalfLifeMs` (30 days), so an old record does not mask a new one forever.
/// - **Deviation**: the distance from the expected value in units of its typical deviation,
///   against each baseline with history — the recent level, the same hour of the day (after
///   two days) and the same hour of the week (after two weeks) — keeping the smallest: a
///   window is unusual only when no baseline explains it, so a service that doubles every
///   morning is judged against its mornings. The deviation is calibrated by the signal's own history: it
///   is divided by the 99th percentile of the deviations seen before (a histogram, not a list),
///   and counts only when it is more than `deviationFloor` (5) times that.
///
/// Counts and shares are judged with the noise their size implies (Poisson for counts, binomial
/// for shares, at least 5 % of the level for counts): the range is at least six of those
/// standard deviations wide (what a well-sampled range of such noise spans), so a quiet service
/// going from 1 error to 3 is not a record. Scores are 0 until `minHistory` windows have been seen.
public struct SignalModel: Sendable, Codable {
    public enum Kind: Sendable, Equatable, Codable {
        /// Events per window: integral and non-negative; becomes `.measure` at the first value
        /// that is not (a series of measured values).
        case count
        /// A proportion of the window's events (the denominator is given with each value).
        case share
        case measure
    }

    public struct Parameters: Sendable, Equatable, Codable {
        public var minHistory = 10
        public var rangeSpan = 6
        public var rangeHalfLifeMs: Int64 = 30 * 86_400_000
        public var levelAlpha = 0.05
        public var deviationAlpha = 0.02
        /// Weight of one day's value for the same hour (per window: spread over the hour's windows).
        public var seasonalAlpha = 0.3
        public var deviationFloor = 5.0
        public var deviationWeight = 0.05
        public init() {}
    }

    public private(set) var kind: Kind
    public let parameters: Parameters
    public private(set) var windows = 0
    private var seenFirst = false

    private var level = Baseline()
    private var day = Seasonal(slots: 24)
    private var week = Seasonal(slots: 168)
    private var center: Double?
    private var high = 0.0, low = 0.0
    private var spanHigh = 0.0, spanLow = 0.0, spanSeen = false
    private var recent: [Double] = []
    private var recentNext = 0
    private var calibration = Calibration()

    public init(kind: Kind, parameters: Parameters = Parameters()) {
        self.kind = kind
        self.parameters = parameters
    }

    /// A running estimate and the running mean absolute error of it.
    struct Baseline: Sendable, Codable {
        var value: Double?
        var deviation: Double?
    }

    /// One value per slot (hour of day or of week), with its own running deviation.
    struct Seasonal: Sendable, Codable {
        var values: [Double]
        var seen: [Int32]
        var deviation: Double?
        init(slots: Int) {
            values = Array(repeating: 0, count: slots)
            seen = Array(repeating: 0, count: slots)
        }
        func ready(_ slot: Int, after windows: Int32) -> Bool { seen[slot] >= windows && deviation != nil }
    }

    /// Scores `value` (the window that starts at `startMs` and lasts `windowMs`). `of` is the
    /// denominator of a share (the window's events or requests).
    public mutating func observe(_ value: Double, startMs: Int64, windowMs: Int64, of denominator: Double = 0) -> SignalScore {
        let p = parameters
        // A service's first window is usually partial (it started, or the detector did, inside
        // it): it is not learnt.
        guard seenFirst else {
            seenFirst = true
            return SignalScore(up: 0, down: 0, expected: value)
        }
        if kind == .count && (value < 0 || value.rounded() != value) { kind = .measure }
        windows += 1
        let hour = Int(((startMs / 3_600_000) % 24 + 24) % 24)
        let weekday = Int((((startMs / 86_400_000) + 3) % 7 + 7) % 7)  // 1970-01-01 was a Thursday: Monday = 0
        let hourOfWeek = weekday * 24 + hour
        let perHour = max(1, Double(3_600_000) / Double(max(windowMs, 1)))
        let slotAlpha = 1 - pow(1 - p.seasonalAlpha, 1 / perHour)
        let dayReady = Int32((2 * perHour).rounded()), weekReady = Int32((2 * perHour).rounded())

        // The expectation: of the baselines with history (recent level, same hour of the day,
        // same hour of the week), the one that explains this window best — a window is unusual
        // only when it is unusual against every one of them.
        var expected = level.value ?? value
        var z = 0.0
        var candidates: [(value: Double, deviation: Double)] = []
        if let v = level.value, let d = level.deviation { candidates.append((v, d)) }
        if day.ready(hour, after: dayReady), let d = day.deviation { candidates.append((day.values[hour], d)) }
        if week.ready(hourOfWeek, after: weekReady), let d = week.deviation { candidates.append((week.values[hourOfWeek], d)) }
        for (index, candidate) in candidates.enumerated() {
            let spread = max(candidate.deviation * 1.2533, noise(around: candidate.value, denominator: denominator))  // MAE → sd
            let distance = spread > 0 ? (value - candidate.value) / spread : (value == candidate.value ? 0 : (value > candidate.value ? 50 : -50))
            if index == 0 || abs(distance) < abs(z) { (expected, z) = (candidate.value, distance) }
        }
        let noise = noise(around: expected, denominator: denominator)

        // The range, relaxed toward the usual level, and the span mean's own range.
        let center = self.center ?? value
        let decay = pow(0.5, Double(windowMs) / Double(max(p.rangeHalfLifeMs, 1)))
        if self.center == nil { high = value; low = value }
        high = center + (high - center) * decay
        low = center + (low - center) * decay
        let span = max(high - low, 6 * noise, 1e-12)
        let normalHigh = max(high, expected + 3 * noise), normalLow = min(low, expected - 3 * noise)
        var above = (value - high) / span, below = (low - value) / span
        if recent.count < p.rangeSpan { recent.append(value) } else { recent[recentNext] = value }
        recentNext = (recentNext + 1) % max(p.rangeSpan, 1)
        if recent.count == p.rangeSpan {
            let mean = recent.reduce(0, +) / Double(recent.count)
            if !spanSeen { spanHigh = mean; spanLow = mean; spanSeen = true }
            spanHigh = center + (spanHigh - center) * decay
            spanLow = center + (spanLow - center) * decay
            let meanSpan = max(spanHigh - spanLow, 6 * noise / Double(p.rangeSpan).squareRoot(), 1e-12)
            above = max(above, (mean - spanHigh) / meanSpan)
            below = max(below, (spanLow - mean) / meanSpan)
            spanHigh = max(spanHigh, mean); spanLow = min(spanLow, mean)
        }
        high = max(high, value); low = min(low, value)
        self.center = center + 0.01 * (value - center)

        // Learn this window (after judging it).
        let judged = windows > p.minHistory
        let typical = calibration.quantile(0.99) ?? 3
        calibration.add(abs(z))
        if let previous = level.value {
            level.deviation = Self.blend(level.deviation, abs(value - previous), p.deviationAlpha)
        }
        level.value = Self.blend(level.value, value, p.levelAlpha)
        if day.seen[hour] >= dayReady { day.deviation = Self.blend(day.deviation, abs(value - day.values[hour]), p.deviationAlpha) }
        day.values[hour] = day.seen[hour] == 0 ? value : day.values[hour] + slotAlpha * (value - day.values[hour])
        day.seen[hour] = day.seen[hour] &+ 1
        if week.seen[hourOfWeek] >= weekReady {
            week.deviation = Self.blend(week.deviation, abs(value - week.values[hourOfWeek]), p.deviationAlpha)
        }
        week.values[hourOfWeek] = week.seen[hourOfWeek] == 0 ? value : week.values[hourOfWeek] + slotAlpha * (value - week.values[hourOfWeek])
        week.seen[hourOfWeek] = week.seen[hourOfWeek] &+ 1

        guard judged else { return SignalScore(up: 0, down: 0, expected: expected, normalHigh: normalHigh, normalLow: normalLow) }
        let ratio = abs(z) / max(typical, 1e-9)
        func score(beyond: Double, deviating: Bool) -> Double {
            let r = deviating ? ratio : 0
            let excess = max(beyond, p.deviationWeight * (r - p.deviationFloor))
            if excess > 0 { return 0.5 + 0.5 * excess / (excess + 0.1) }
            return 0.5 * min(1, max(0, r / p.deviationFloor, 1 + beyond))
        }
        return SignalScore(up: score(beyond: above, deviating: z > 0), down: score(beyond: below, deviating: z < 0), expected: expected,
                           normalHigh: normalHigh, normalLow: normalLow)
    }

    private func noise(around expected: Double, denominator: Double) -> Double {
        switch kind {
        case .count: return max((max(expected, 0) + 1).squareRoot(), 0.05 * abs(expected))
        case .share:
            guard denominator > 0 else { return 0 }
            let share = min(max(expected, 1 / denominator), 1)
            return (share * (1 - share) / denominator).squareRoot()
        case .measure: return 0
        }
    }

    private static func blend(_ current: Double?, _ value: Double, _ alpha: Double) -> Double {
        guard let current else { return value }
        return current + alpha * (value - current)
    }
}

/// The distribution of a signal's past deviations as a histogram (20 bins per decade from 0.001
/// to 10,000), halved when it holds a million so it keeps adapting: constant memory, quantiles
/// to within 12 %.
struct Calibration: Sendable, Codable {
    static let binsPerDecade = 20.0
    private var bins = [UInt32](repeating: 0, count: 142)
    private var total: UInt32 = 0

    mutating func add(_ value: Double) {
        let bin = value <= 0.001 ? 0 : min(bins.count - 1, Int(((log10(value) + 3) * Self.binsPerDecade).rounded(.down)) + 1)
        bins[bin] += 1
        total += 1
        if total >= 1_000_000 {
            total = 0
            for i in bins.indices { bins[i] /= 2; total += bins[i] }
        }
    }

    /// The upper edge of the bin holding the `q` quantile; nil before 100 values.
    func quantile(_ q: Double) -> Double? {
        guard total >= 100 else { return nil }
        let target = q * Double(total)
        var seen = 0.0
        for (bin, count) in bins.enumerated() {
            seen += Double(count)
            if seen >= target { return pow(10, Double(bin) / Self.binsPerDecade - 3) }
        }
        return pow(10, Double(bins.count - 1) / Self.binsPerDecade - 3)
    }
}
