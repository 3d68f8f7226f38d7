/// Detector settings: windows, suppression and the rules' parameters (defaults per the docs).
public struct DetectorSettings: Sendable {
    public var windowMs: Int64 = 60_000
    public var latenessMs: Int64 = 30_000
    public var slowMs: Int64 = 1_000
    public var suppressMs: Int64 = 3_600_000
    /// Closed windows kept per service for the baselines.
    public var historyWindows = 60
    /// Windows of history needed before a surge rule may fire.
    public var minHistoryWindows = 10
    /// `{trace_id}` is replaced (e.g. a Kibana Discover URL filtered by trace.id).
    public var traceURL: String?
    public var errorSurge = Surge(spanWindows: 5, increase: 3.0, minCount: 10)
    public var slowRequests = Surge(spanWindows: 5, increase: 3.0, minCount: 10)
    public var http5xxRatio = RatioChange(spanWindows: 10, factor: 2.0, minRequests: 50, minRatio: 0.05)
    public var errorRate = Share(spanWindows: 5, threshold: 0.2, minEvents: 50)
    public var silence = Silence(quietWindows: 5, minPerWindow: 5)
    /// Clear evaluations in a row before a firing alert resolves (no flapping at the edge).
    public var clearBeforeResolve = 2
    /// Rules turned off (`enabled: false` in the configuration).
    public var disabledRules: Set<String> = []

    /// Closed windows a service must keep for every rule to judge.
    public var historyToKeep: Int {
        historyWindows + max(http5xxRatio.spanWindows * 2, errorSurge.spanWindows, slowRequests.spanWindows,
                             errorRate.spanWindows, silence.quietWindows)
    }

    public init() {}

    public struct Surge: Sendable {
        public var spanWindows: Int
        public var increase: Double
        public var minCount: Int
    }

    public struct RatioChange: Sendable {
        public var spanWindows: Int
        public var factor: Double
        public var minRequests: Int
        /// With no 5xx at all in the previous span, this ratio counts as "doubled".
        public var minRatio: Double
    }

    public struct Share: Sendable {
        public var spanWindows: Int
        public var threshold: Double
        public var minEvents: Int
    }

    public struct Silence: Sendable {
        public var quietWindows: Int
        public var minPerWindow: Int
    }
}

/// One rule's verdict on a service after a window closed.
public struct RuleVerdict: Sendable, Equatable {
    public var rule: String
    public var firing: Bool
    public var observed: Double
    public var baseline: Double
    public var severity: String
}

/// The rules, as pure functions of a service's closed windows (oldest first).
///
/// Baselines are robust statistics of the history before the span being judged: the median of
/// the per-window values times the span, and the MAD (× 1.4826, scaled by √span) as the spread.
/// A surge needs all of: observed ≥ (1 + increase) × baseline, observed ≥ baseline + 3 × spread
/// (so a noisy but normal service does not alert), and observed ≥ the minimum count. A baseline
/// of 0 (a service that never errs) reduces that to the minimum count.
public enum Rules {
    public static func evaluate(_ windows: [WindowCounts], _ s: DetectorSettings) -> [RuleVerdict] {
        var verdicts: [RuleVerdict] = []
        verdicts.append(surge("error_surge", windows, s.errorSurge, s.minHistoryWindows) { Double($0.errors) })
        verdicts.append(surge("slow_requests", windows, s.slowRequests, s.minHistoryWindows) { Double($0.slow) })
        verdicts.append(ratio(windows, s.http5xxRatio))
        verdicts.append(share(windows, s.errorRate))
        verdicts.append(silence(windows, s.silence, s.minHistoryWindows))
        return s.disabledRules.isEmpty ? verdicts : verdicts.filter { !s.disabledRules.contains($0.rule) }
    }

    static func surge(_ name: String, _ windows: [WindowCounts], _ p: DetectorSettings.Surge, _ minHistory: Int,
                      value: (WindowCounts) -> Double) -> RuleVerdict {
        let span = windows.suffix(p.spanWindows)
        let history = windows.dropLast(p.spanWindows).map(value)
        let observed = span.map(value).reduce(0, +)
        guard span.count == p.spanWindows, history.count >= minHistory else {
            return RuleVerdict(rule: name, firing: false, observed: observed, baseline: 0, severity: "none")
        }
        let median = Statistics.median(history)
        let spread = Statistics.mad(history, median: median) * 1.4826 * Double(p.spanWindows).squareRoot()
        let baseline = median * Double(p.spanWindows)
        let threshold = max((1 + p.increase) * baseline, baseline + 3 * spread, Double(p.minCount))
        let firing = observed >= threshold
        return RuleVerdict(rule: name, firing: firing, observed: observed, baseline: baseline,
                           severity: !firing ? "none" : observed >= 2 * threshold ? "critical" : "warning")
    }

    static func ratio(_ windows: [WindowCounts], _ p: DetectorSettings.RatioChange) -> RuleVerdict {
        let current = windows.suffix(p.spanWindows), previous = windows.dropLast(p.spanWindows).suffix(p.spanWindows)
        func rate(_ w: ArraySlice<WindowCounts>) -> (Double, Int) {
            let requests = w.reduce(0) { $0 + $1.requests }
            return (requests == 0 ? 0 : Double(w.reduce(0) { $0 + $1.serverErrors }) / Double(requests), requests)
        }
        let (now, requests) = rate(current), (before, earlier) = rate(previous)
        guard current.count == p.spanWindows, previous.count == p.spanWindows, requests >= p.minRequests, earlier > 0 else {
            return RuleVerdict(rule: "http_5xx_ratio", firing: false, observed: now, baseline: before, severity: "none")
        }
        let threshold = before == 0 ? p.minRatio : max(p.factor * before, p.minRatio)
        let firing = now >= threshold
        return RuleVerdict(rule: "http_5xx_ratio", firing: firing, observed: now, baseline: before,
                           severity: !firing ? "none" : now >= min(2 * threshold, 1) ? "critical" : "warning")
    }

    static func share(_ windows: [WindowCounts], _ p: DetectorSettings.Share) -> RuleVerdict {
        let span = windows.suffix(p.spanWindows)
        let total = span.reduce(0) { $0 + $1.total }, errors = span.reduce(0) { $0 + $1.errors }
        let observed = total == 0 ? 0 : Double(errors) / Double(total)
        let firing = total >= p.minEvents && observed > p.threshold
        return RuleVerdict(rule: "error_rate", firing: firing, observed: observed, baseline: p.threshold,
                           severity: !firing ? "none" : observed >= min(2 * p.threshold, 1) ? "critical" : "warning")
    }

    static func silence(_ windows: [WindowCounts], _ p: DetectorSettings.Silence, _ minHistory: Int) -> RuleVerdict {
        let quiet = windows.suffix(p.quietWindows), history = windows.dropLast(p.quietWindows).map { Double($0.total) }
        let observed = Double(quiet.reduce(0) { $0 + $1.total })
        guard quiet.count == p.quietWindows, history.count >= minHistory else {
            return RuleVerdict(rule: "silence", firing: false, observed: observed, baseline: 0, severity: "none")
        }
        let typical = Statistics.median(history)
        let firing = typical >= Double(p.minPerWindow) && observed == 0
        return RuleVerdict(rule: "silence", firing: firing, observed: observed, baseline: typical * Double(p.quietWindows),
                           severity: firing ? "critical" : "none")
    }
}

enum Statistics {
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    static func mad(_ values: [Double], median: Double) -> Double {
        Self.median(values.map { abs($0 - median) })
    }
}
