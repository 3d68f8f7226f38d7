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
    public var volumeSurge = Surge(spanWindows: 5, increase: 3.0, minCount: 10)
    public var newPattern = NewPattern()
    /// A scored rule fires at this score (warning) and is critical from `criticalScore`.
    public var scoreThreshold = 0.8
    public var criticalScore = 0.95
    /// Per-rule score thresholds over `scoreThreshold`.
    public var ruleScores: [String: Double] = [:]
    /// Rules judged by their fixed preset (the seed's thresholds) instead of the scores.
    public var presetRules: Set<String> = []
    /// Windows a new alert is held so that an escalation within them is delivered once, at its
    /// highest severity (0 sends at once).
    public var groupWaitWindows = 1
    public var model = SignalModel.Parameters()
    /// Clear evaluations in a row before a firing alert resolves (no flapping at the edge).
    public var clearBeforeResolve = 2
    /// Rules turned off (`enabled: false` in the configuration).
    public var disabledRules: Set<String> = []

    /// Closed windows a service must keep for every rule to judge.
    public var historyToKeep: Int {
        historyWindows + max(http5xxRatio.spanWindows * 2, errorSurge.spanWindows, slowRequests.spanWindows,
                             errorRate.spanWindows, silence.quietWindows, volumeSurge.spanWindows)
    }

    public init() {}

    /// Scored rules that more errors explain (errors in place of the usual logs): quiet while
    /// `error_surge` fires for the service.
    public static let explainedByErrors: Set<String> = ["error_rate", "volume_surge", "silence"]

    /// Every rule the engine knows, in the order it judges them.
    public static let ruleNames = ["error_surge", "slow_requests", "http_5xx_ratio", "error_rate", "silence", "volume_surge"]

    public func scoreThreshold(of rule: String) -> Double { ruleScores[rule] ?? scoreThreshold }

    /// Sets the parameters named in `rules` (`logship.yml`'s `rules`, validated by the
    /// configuration loader): `enabled` 0 turns a rule off, `model` 1 makes it the preset.
    public mutating func apply(_ rules: [String: [String: Double]]) {
        for (rule, parameters) in rules {
            for (name, value) in parameters {
                let count = Int(value)
                switch (rule, name) {
                case (_, "enabled"): if value == 0 { disabledRules.insert(rule) } else { disabledRules.remove(rule) }
                case (_, "model"): if value == 1 { presetRules.insert(rule) } else { presetRules.remove(rule) }
                case (_, "score"): ruleScores[rule] = value
                case ("volume_surge", "span"): volumeSurge.spanWindows = count
                case ("volume_surge", "increase"): volumeSurge.increase = value
                case ("volume_surge", "min_count"): volumeSurge.minCount = count
                case ("error_surge", "span"): errorSurge.spanWindows = count
                case ("error_surge", "increase"): errorSurge.increase = value
                case ("error_surge", "min_count"): errorSurge.minCount = count
                case ("slow_requests", "span"): slowRequests.spanWindows = count
                case ("slow_requests", "increase"): slowRequests.increase = value
                case ("slow_requests", "min_count"): slowRequests.minCount = count
                case ("http_5xx_ratio", "span"): http5xxRatio.spanWindows = count
                case ("http_5xx_ratio", "factor"): http5xxRatio.factor = value
                case ("http_5xx_ratio", "min_requests"): http5xxRatio.minRequests = count
                case ("http_5xx_ratio", "min_ratio"): http5xxRatio.minRatio = value
                case ("error_rate", "span"): errorRate.spanWindows = count
                case ("error_rate", "threshold"): errorRate.threshold = value
                case ("error_rate", "min_events"): errorRate.minEvents = count
                case ("silence", "quiet_windows"): silence.quietWindows = count
                case ("silence", "min_per_window"): silence.minPerWindow = count
                case ("new_pattern", "min_count"): newPattern.minCount = max(count, 1)
                case ("new_pattern", "span"): newPattern.spanWindows = max(count, 1)
                case ("new_pattern", "look_back"): newPattern.lookBackMs = Int64(value)
                case ("new_pattern", "max_templates"): newPattern.maxTemplates = max(count, 1)
                default: continue
                }
            }
        }
    }

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

    /// `new_pattern`: an ERROR/CRITICAL template not seen within `lookBackMs` that occurs
    /// `minCount` times within `spanWindows` windows of its first sighting raises one alert.
    public struct NewPattern: Sendable {
        public var minCount = 3
        public var spanWindows = 5
        public var lookBackMs: Int64 = 7 * 86_400_000
        /// Templates remembered per service (the least recently seen go first).
        public var maxTemplates = 2_000
    }

    public static let newPatternRule = "new_pattern"
}

/// One rule's verdict on a service after a window closed.
public struct RuleVerdict: Sendable, Equatable {
    public var rule: String
    public var firing: Bool
    public var observed: Double
    public var baseline: Double
    public var severity: String
    /// The rule's anomaly score for the window (scored rules; nil for presets).
    public var score: Double? = nil
    /// Scored rules: the signal's usual bound before this window (the high for a surge, the low
    /// for silence); a firing alert stays firing until `observed` is back on its side.
    public var normalBound: Double? = nil
    public var below = false
    /// The rule's minimum counts were met.
    public var enough = true
}

/// The rules, as pure functions of a service's closed windows (oldest first).
///
/// Baselines are robust statistics of the history before the span being judged: the median of
/// the per-window values times the span, and the MAD (× 1.4826, scaled by √span) as the spread.
/// A surge needs all of: observed ≥ (1 + increase) × baseline, observed ≥ baseline + 3 × spread
/// (so a noisy but normal service does not alert), and observed ≥ the minimum count. A baseline
/// of 0 (a service that never errs) reduces that to the minimum count.
public enum Rules {
    /// The verdicts on a service's latest closed window (the last of `windows`): scored rules
    /// from `scores`, preset rules from the windows. A rule fires only when its minimum counts
    /// are met too (`min_count`, `min_requests`, `min_events` over its span; silence needs an
    /// expected `min_per_window`).
    public static func evaluate(_ windows: [WindowCounts], _ scores: WindowScores, _ s: DetectorSettings) -> [RuleVerdict] {
        var verdicts: [RuleVerdict] = []
        for rule in DetectorSettings.ruleNames where !s.disabledRules.contains(rule) {
            verdicts.append(s.presetRules.contains(rule) ? preset(rule, windows, s) : scored(rule, windows, scores, s))
        }
        return verdicts
    }

    /// The seed's fixed-threshold rules (`model: preset`).
    public static func preset(_ rule: String, _ windows: [WindowCounts], _ s: DetectorSettings) -> RuleVerdict {
        switch rule {
        case "error_surge": return surge(rule, windows, s.errorSurge, s.minHistoryWindows) { $0.errors }
        case "slow_requests": return surge(rule, windows, s.slowRequests, s.minHistoryWindows) { Double($0.slow) }
        case "http_5xx_ratio": return ratio(windows, s.http5xxRatio)
        case "error_rate": return share(windows, s.errorRate)
        case "silence": return silence(windows, s.silence, s.minHistoryWindows)
        default: return surge(rule, windows, s.volumeSurge, s.minHistoryWindows) { $0.total - $0.errorEvents }
        }
    }

    static func scored(_ rule: String, _ windows: [WindowCounts], _ scores: WindowScores, _ s: DetectorSettings) -> RuleVerdict {
        func spanSum(_ span: Int, _ value: (WindowCounts) -> Double) -> Double { windows.suffix(span).reduce(0) { $0 + value($1) } }
        let window = windows.last ?? WindowCounts(startMs: 0)
        let (score, observed, enough): (SignalScore, Double, Bool)
        var direction = \SignalScore.up
        switch rule {
        case "error_surge":
            (score, observed) = (scores.errors, window.errors)
            enough = spanSum(s.errorSurge.spanWindows, \.errors) >= Double(s.errorSurge.minCount)
        case "slow_requests":
            (score, observed) = (scores.slow, Double(window.slow))
            enough = spanSum(s.slowRequests.spanWindows) { Double($0.slow) } >= Double(s.slowRequests.minCount)
        case "http_5xx_ratio":
            (score, observed) = (scores.ratio, window.requests == 0 ? 0 : Double(window.serverErrors) / Double(window.requests))
            enough = spanSum(s.http5xxRatio.spanWindows) { Double($0.requests) } >= Double(s.http5xxRatio.minRequests)
        case "error_rate":
            (score, observed) = (scores.share, window.total == 0 ? 0 : window.errors / window.total)
            enough = spanSum(s.errorRate.spanWindows, \.total) >= Double(s.errorRate.minEvents)
        case "silence":
            // Below the usual range for quiet_windows windows in a row, scored at the drop.
            let quiet = scores.quiet
            (score, observed) = (SignalScore(up: 0, down: quiet.score, expected: quiet.expected, normalHigh: quiet.bound, normalLow: quiet.bound),
                                 window.total - window.errorEvents)
            enough = quiet.windows >= s.silence.quietWindows && quiet.expected >= Double(s.silence.minPerWindow)
            direction = \SignalScore.down
        default:
            (score, observed) = (scores.volume, window.total - window.errorEvents)
            enough = spanSum(s.volumeSurge.spanWindows) { $0.total - $0.errorEvents } >= Double(s.volumeSurge.minCount)
        }
        let value = score[keyPath: direction]
        let firing = enough && value >= s.scoreThreshold(of: rule)
        let down = direction == \SignalScore.down
        return RuleVerdict(rule: rule, firing: firing, observed: observed, baseline: score.expected,
                           severity: !firing ? "none" : value >= max(s.criticalScore, s.scoreThreshold(of: rule)) ? "critical" : "warning",
                           score: value, normalBound: down ? score.normalLow : score.normalHigh, below: down, enough: enough)
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
        let observed = total == 0 ? 0 : errors / total
        let firing = total >= Double(p.minEvents) && observed > p.threshold
        return RuleVerdict(rule: "error_rate", firing: firing, observed: observed, baseline: p.threshold,
                           severity: !firing ? "none" : observed >= min(2 * p.threshold, 1) ? "critical" : "warning")
    }

    static func silence(_ windows: [WindowCounts], _ p: DetectorSettings.Silence, _ minHistory: Int) -> RuleVerdict {
        let quiet = windows.suffix(p.quietWindows), history = windows.dropLast(p.quietWindows).map(\.total)
        let observed = quiet.reduce(0) { $0 + $1.total }
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

/// One closed window's scores, per signal.
public struct WindowScores: Sendable, Equatable {
    public var errors = SignalScore.none
    public var share = SignalScore.none
    public var ratio = SignalScore.none
    public var slow = SignalScore.none
    /// Events other than errors (error_surge judges those): volume_surge upwards, silence downwards.
    public var volume = SignalScore.none
    /// The current run of windows below the volume's usual range.
    public var quiet = QuietRun()

    public struct QuietRun: Sendable, Equatable, Codable {
        public var windows = 0
        /// The highest downward score of the run, the usual low and the expected volume at its start.
        public var score = 0.0
        public var bound = 0.0
        public var expected = 0.0
    }

    /// The score of every rule `settings` judges by score (enabled, not a preset).
    public func byRule(_ settings: DetectorSettings) -> [String: Double] {
        var scores: [String: Double] = [:]
        for rule in DetectorSettings.ruleNames where !settings.disabledRules.contains(rule) && !settings.presetRules.contains(rule) {
            switch rule {
            case "error_surge": scores[rule] = errors.up
            case "slow_requests": scores[rule] = slow.up
            case "http_5xx_ratio": scores[rule] = ratio.up
            case "error_rate": scores[rule] = share.up
            case "silence": scores[rule] = volume.down
            default: scores[rule] = volume.up
            }
        }
        return scores
    }

    /// The highest score of the rules `settings` judges by score.
    public func highest(_ settings: DetectorSettings) -> Double { byRule(settings).values.max() ?? 0 }
}

/// The signal models of one service: error volume, error share, 5xx ratio, slow requests and
/// the volume of the other events (upwards volume_surge, downwards silence). A share without a denominator in a window
/// (no events, no requests) is not observed.
public struct ServiceSignals: Sendable, Codable {
    var errors: SignalModel
    var share: SignalModel
    var ratio: SignalModel
    var slow: SignalModel
    var volume: SignalModel
    var quiet = WindowScores.QuietRun()

    public init(_ parameters: SignalModel.Parameters) {
        errors = SignalModel(kind: .count, parameters: parameters)
        share = SignalModel(kind: .share, parameters: parameters)
        ratio = SignalModel(kind: .share, parameters: parameters)
        slow = SignalModel(kind: .count, parameters: parameters)
        volume = SignalModel(kind: .count, parameters: parameters)
    }

    public mutating func observe(_ w: WindowCounts, windowMs: Int64) -> WindowScores {
        var scores = WindowScores()
        scores.errors = errors.observe(w.errors, startMs: w.startMs, windowMs: windowMs)
        scores.slow = slow.observe(Double(w.slow), startMs: w.startMs, windowMs: windowMs)
        let others = w.total - w.errorEvents
        scores.volume = volume.observe(others, startMs: w.startMs, windowMs: windowMs)
        if quiet.windows == 0 ? scores.volume.down > 0.5 : others < quiet.bound {
            if quiet.windows == 0 { quiet = .init(windows: 0, score: 0, bound: scores.volume.normalLow, expected: scores.volume.expected) }
            quiet.windows += 1
            quiet.score = max(quiet.score, scores.volume.down)
        } else {
            quiet = .init()
        }
        scores.quiet = quiet
        if w.total > 0 {
            scores.share = share.observe(w.errors / w.total, startMs: w.startMs, windowMs: windowMs, of: w.total)
        }
        if w.requests > 0 {
            scores.ratio = ratio.observe(Double(w.serverErrors) / Double(w.requests), startMs: w.startMs, windowMs: windowMs,
                                         of: Double(w.requests))
        }
        return scores
    }
}
