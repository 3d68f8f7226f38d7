import LogModel

/// The detector's logic, without I/O: events in, alerts out. Event-time windows per service; a
/// window closes when the watermark (largest event time seen anywhere, less the allowed
/// lateness) passes its end, or when `advance(toMs:)` says time has moved on (so a silent
/// service is noticed). Each closed window is scored by the service's signal models and judged
/// by the rules; suppression decides what is sent, and a new alert waits `groupWaitWindows` so
/// that an escalation within them is delivered once, at its highest severity.
public final class DetectorEngine {
    public private(set) var settings: DetectorSettings
    /// Rule parameters of services that differ from `settings` (window and lateness are global).
    public private(set) var serviceSettings: [String: DetectorSettings]
    private(set) var owners: [String: String]
    /// (Read and written by the snapshot extension, DetectorEngine+Snapshots.swift, too.)
    var services: [String: ServiceState] = [:]
    private var watermarkMs: Int64 = .min
    /// Start of the first window not yet closed everywhere.
    private var openFrom: Int64 = .min
    public private(set) var suppressed = 0
    private var incidents: IncidentBook
    /// When set, every judged window's highest score is appended (`detect backtest`).
    public var scoreLog: [WindowScore]?

    public struct WindowScore: Sendable, Equatable {
        public var service: String
        public var startMs: Int64
        public var endMs: Int64
        public var score: Double
    }

    final class ServiceState {
        var windows: ServiceWindows
        var history: [WindowCounts] = []
        var signals: ServiceSignals
        var recentErrors: [DetectorEvent] = []
        /// The last 512 errors with a trace id (for incidents).
        var errorMarks: [ErrorMark] = []
        var rules: [String: RuleState] = [:]
        /// New alerts held for the group wait, by rule.
        var pending: [String: Held] = [:]
        /// End of the last window scored, and where the last snapshot was taken.
        var learntUntil: Int64 = .min
        var snapshotAt: Int64 = .min
        var snapshotTaken = false
        /// The scores of the last window scored.
        var lastScores = WindowScores()
        /// The judge's path: each source partition's watermark and whether it is idle.
        var sources: [String: SourceMark] = [:]
        var partitions = 0
        /// ERROR templates seen within the `new_pattern` look-back.
        var patterns = PatternBook()
        init(_ settings: DetectorSettings) {
            windows = ServiceWindows(windowMs: settings.windowMs, latenessMs: settings.latenessMs, slowNs: settings.slowMs * 1_000_000)
            signals = ServiceSignals(settings.model)
        }
    }

    struct SourceMark: Codable {
        var watermarkMs: Int64
        var idle: Bool
    }

    struct Held: Codable {
        var alert: Alert
        var dueMs: Int64
    }

    struct RuleState: Codable {
        var firingSince: Int64
        var lastSentMs: Int64
        var severity: String
        var clearRuns = 0
        /// Scored rules: the usual bound when it started firing; it resolves only back inside it.
        var normalBound: Double?
        var below = false

        func stillAbnormal(_ verdict: RuleVerdict) -> Bool {
            guard let normalBound, verdict.normalBound != nil else { return false }
            return below ? verdict.observed < normalBound : verdict.enough && verdict.observed > normalBound
        }
    }

    public init(settings: DetectorSettings = DetectorSettings(), owners: [String: String] = [:],
                serviceSettings: [String: DetectorSettings] = [:]) {
        self.settings = settings
        self.owners = owners
        self.serviceSettings = serviceSettings
        incidents = IncidentBook(keepMs: 10 * settings.windowMs)
    }

    public func settings(for service: String) -> DetectorSettings { serviceSettings[service] ?? settings }

    /// Takes `other`'s rules, thresholds and owners, keeping every window and rule state: the
    /// next closed window is judged by the new rules. Window length and allowed lateness shape
    /// the windows themselves, so they cannot change here (the caller refuses such a change).
    public func adoptRules(of other: DetectorEngine) {
        settings = other.settings
        serviceSettings = other.serviceSettings
        owners = other.owners
    }

    /// Events that came after their window had closed, per service (counted, not dropped silently).
    public var lateEvents: [String: Int] { services.mapValues { $0.windows.late } }

    /// Counts one event; returns the alerts of the windows this event's time closed.
    public func ingest(_ event: DetectorEvent) -> [Alert] {
        let state: ServiceState
        if let existing = services[event.service] {
            state = existing
        } else {
            state = ServiceState(settings)
            services[event.service] = state
        }
        guard state.windows.add(event) else { return [] }
        if event.isError {
            state.recentErrors.append(event)
            if state.recentErrors.count > 3 { state.recentErrors.removeFirst() }
            if let trace = event.traceID {
                if state.errorMarks.count >= 512 { state.errorMarks.removeFirst(128) }
                state.errorMarks.append(ErrorMark(trace: trace, timestampMs: event.timestampMs, durationNs: event.durationNs))
            }
        }
        let mark = event.timestampMs - settings.latenessMs
        guard mark > watermarkMs else { return [] }
        watermarkMs = mark
        // Most events stay inside the open window: only crossing a boundary closes anything.
        guard state.windows.windowStart(mark) > openFrom else { return [] }
        return closeWindows(upTo: mark)
    }

    /// The judge's path (the detector's second stage): merges counters' partial counts (one poll's
    /// worth) and closes every window each service's sources have all passed — once every
    /// partition of its topic has been heard from, the smallest watermark of its active (not
    /// idle) sources, less the allowed lateness; a service whose sources are all idle follows
    /// the largest event time seen, so a silent service is noticed.
    public func merge(_ partials: [WindowPartial]) -> [Alert] {
        for partial in partials { add(partial) }
        return closeMerged()
    }

    public func merge(_ partial: WindowPartial) -> [Alert] { merge([partial]) }

    private func add(_ partial: WindowPartial) {
        let state: ServiceState
        if let existing = services[partial.service] {
            state = existing
        } else {
            state = ServiceState(settings(for: partial.service))
            services[partial.service] = state
        }
        for counts in partial.windows {
            guard state.windows.merge(counts) else { continue }
            for sample in counts.samples {
                state.recentErrors.append(DetectorEvent(service: partial.service, timestampMs: sample.timestampMs, level: .error,
                                                        traceID: sample.traceID, message: sample.message))
            }
            if state.recentErrors.count > 3 { state.recentErrors.removeFirst(state.recentErrors.count - 3) }
            for mark in counts.marks {
                if state.errorMarks.count >= 512 { state.errorMarks.removeFirst(128) }
                state.errorMarks.append(ErrorMark(trace: mark.trace, timestampMs: mark.timestampMs, durationNs: mark.durationNs))
            }
        }
        let previous = state.sources[partial.source]?.watermarkMs ?? .min
        state.sources[partial.source] = SourceMark(watermarkMs: max(previous, partial.watermarkMs), idle: partial.idle)
        state.partitions = max(state.partitions, partial.partitions)
        judgeMaxMs = max(judgeMaxMs, partial.watermarkMs)
    }

    /// The largest event time any partial carried.
    var judgeMaxMs: Int64 = .min

    private func closeMerged() -> [Alert] {
        var alerts: [Alert] = []
        for (name, state) in services.sorted(by: { $0.key < $1.key }) where state.sources.count >= max(state.partitions, 1) {
            let active = state.sources.values.filter { !$0.idle }.map(\.watermarkMs)
            let eventTime = active.min() ?? judgeMaxMs
            guard eventTime > Int64.min + settings.latenessMs else { continue }  // nothing heard yet
            for window in state.windows.close(upTo: eventTime - settings.latenessMs) { alerts += close(name, state, window) }
        }
        return grouped(alerts, nowMs: judgeMaxMs.subtractingReportingOverflow(settings.latenessMs).partialValue)
    }

    /// Moves the watermark (event time, or the wall clock when no events arrive) and evaluates
    /// every window that closes.
    public func advance(toMs mark: Int64) -> [Alert] {
        guard mark > watermarkMs else { return [] }
        watermarkMs = mark
        return closeWindows(upTo: mark)
    }

    private func closeWindows(upTo mark: Int64) -> [Alert] {
        let windowMs = settings.windowMs
        openFrom = mark - ((mark % windowMs) + windowMs) % windowMs
        var alerts: [Alert] = []
        for (name, state) in services.sorted(by: { $0.key < $1.key }) {
            for window in state.windows.close(upTo: mark) { alerts += close(name, state, window) }
        }
        return grouped(alerts, nowMs: mark)
    }

    /// Marks alerts with their incident: firing alerts of several services that share trace ids.
    private func grouped(_ alerts: [Alert], nowMs: Int64) -> [Alert] {
        guard !alerts.isEmpty else { return alerts }
        return incidents.group(alerts, nowMs: nowMs, traces: { alert in
            guard let state = services[alert.service], let start = Timestamps.epochMillis(of: alert.window.start),
                  let end = Timestamps.epochMillis(of: alert.window.end) else { return [] }
            return Set(state.errorMarks.filter { $0.timestampMs >= start && $0.timestampMs < end }.map(\.trace))
        }, marks: { traces in
            var marks: [String: [ErrorMark]] = [:]
            for (name, state) in services {
                let shared = state.errorMarks.filter { traces.contains($0.trace) }
                if !shared.isEmpty { marks[name] = shared }
            }
            return marks
        })
    }

    /// A closed window into the service's history (without its shapes), then judged.
    private func close(_ name: String, _ state: ServiceState, _ window: WindowCounts) -> [Alert] {
        var counts = window
        counts.patterns = nil
        state.history.append(counts)
        let keep = settings(for: name).historyToKeep
        if state.history.count > keep { state.history.removeFirst(state.history.count - keep) }
        return judge(name, state, window) + newPatterns(name, state, window)
    }

    /// `new_pattern`: the window's error shapes mined into the service's templates; one alert
    /// per template new within the look-back (learnt, not alerted, before `min_history`).
    private func newPatterns(_ service: String, _ state: ServiceState, _ window: WindowCounts) -> [Alert] {
        let settings = settings(for: service)
        guard !settings.disabledRules.contains(DetectorSettings.newPatternRule) else { return [] }
        let end = window.startMs + settings.windowMs
        let found = state.patterns.observe(window.patterns ?? [:], startMs: window.startMs, endMs: end, windowMs: settings.windowMs,
                                           learning: state.history.count < settings.minHistoryWindows, settings.newPattern)
        return found.map { pattern in
            let related = pattern.samples.reversed().map {
                Alert.RelatedEvent(time: Timestamps.format(epochMillis: $0.timestampMs), message: $0.message, traceID: $0.traceID)
            }
            let url = traceLink(pattern.samples.last(where: { $0.traceID != nil })?.traceID, settings)
            var alert = Alert(id: Self.alertID("\(DetectorSettings.newPatternRule)|\(service)|\(pattern.id)|\(pattern.firstMs)"),
                              rule: DetectorSettings.newPatternRule, service: service, state: "firing",
                              severity: "warning", observed: Double(pattern.count), baseline: 0,
                              window: .init(start: Timestamps.format(epochMillis: pattern.firstMs), end: Timestamps.format(epochMillis: end)),
                              context: .init(events: related, traceURL: url, owner: owners[service]))
            alert.pattern = .init(id: pattern.id, template: pattern.template)
            return alert
        }
    }

    private func judge(_ service: String, _ state: ServiceState, _ window: WindowCounts) -> [Alert] {
        let settings = settings(for: service)
        let end = window.startMs + settings.windowMs
        state.learntUntil = end
        let scores = state.signals.observe(window, windowMs: settings.windowMs)
        state.lastScores = scores
        scoreLog?.append(WindowScore(service: service, startMs: window.startMs, endMs: end, score: scores.highest(settings)))
        var alerts: [Alert] = []
        let wait = Int64(max(settings.groupWaitWindows, 0)) * settings.windowMs
        func send(_ alert: Alert, rule: String, new: Bool) {
            if let held = state.pending[rule] {
                state.pending[rule] = Held(alert: alert, dueMs: held.dueMs)  // an escalation replaces what is held
            } else if new && wait > 0 {
                state.pending[rule] = Held(alert: alert, dueMs: end + wait)
            } else {
                alerts.append(alert)
            }
        }
        let verdicts = Rules.evaluate(state.history, scores, settings)
        let errorsSurging = state.rules["error_surge"] != nil || verdicts.contains { $0.rule == "error_surge" && $0.firing }
        for verdict in verdicts {
            var rule = state.rules[verdict.rule]
            let explained = errorsSurging && verdict.score != nil && DetectorSettings.explainedByErrors.contains(verdict.rule)
            if !explained && (verdict.firing || rule?.stillAbnormal(verdict) == true) {
                if var current = rule {
                    current.clearRuns = 0
                    let escalated = current.severity == "warning" && verdict.severity == "critical"
                    if escalated || end - current.lastSentMs >= settings.suppressMs {
                        current.lastSentMs = end
                        current.severity = escalated ? verdict.severity : current.severity
                        var reminder = verdict  // still outside its usual range, though no longer a surprise
                        if !verdict.firing { reminder.severity = current.severity }
                        send(alert(service, state, reminder, state: "firing", since: current.firingSince, end: end, sequence: end),
                             rule: verdict.rule, new: false)
                    } else {
                        suppressed += 1
                    }
                    rule = current
                } else {
                    rule = RuleState(firingSince: window.startMs, lastSentMs: end, severity: verdict.severity,
                                     normalBound: verdict.normalBound, below: verdict.below)
                    send(alert(service, state, verdict, state: "firing", since: window.startMs, end: end, sequence: end),
                         rule: verdict.rule, new: true)
                }
            } else if var current = rule {
                current.clearRuns += 1
                if current.clearRuns >= settings.clearBeforeResolve {
                    if let held = state.pending.removeValue(forKey: verdict.rule) { alerts.append(held.alert) }
                    alerts.append(alert(service, state, verdict, state: "resolved", since: current.firingSince, end: end, sequence: end))
                    rule = nil
                } else {
                    rule = current
                }
            }
            state.rules[verdict.rule] = rule
        }
        for (rule, held) in state.pending.sorted(by: { $0.key < $1.key }) where held.dueMs <= end {
            alerts.append(held.alert)
            state.pending[rule] = nil
        }
        return alerts
    }

    /// Everything the engine holds of one service — its open windows and their sources, the
    /// history, the signal models, rule states, held alerts, recent errors — as of the end of
    /// its last scored window (`learntBefore`): the judge writes it to Kafka with the input
    /// position it corresponds to, so whoever judges the service next resumes exactly there.
    public struct ServiceSnapshot: Codable, Sendable {
        public var learntBefore: Int64
        var windows: ServiceWindows
        var history: [WindowCounts]
        var signals: ServiceSignals
        var recentErrors: [DetectorEvent]
        var errorMarks: [ErrorMark]
        var rules: [String: RuleState]
        var pending: [String: Held]
        var sources: [String: SourceMark]
        var partitions: Int
        /// Absent in snapshots written before `new_pattern`.
        var patterns: PatternBook?
    }

    /// Sends every alert still held for its group wait (the end of a backtest).
    public func drainPending() -> [Alert] {
        var alerts: [Alert] = []
        for (_, state) in services.sorted(by: { $0.key < $1.key }) {
            alerts += state.pending.sorted { $0.key < $1.key }.map(\.value.alert)
            state.pending = [:]
        }
        return grouped(alerts, nowMs: watermarkMs)
    }

    /// An alert's id: two 64-bit hashes of what identifies it (stable across restarts and members).
    static func alertID(_ key: String) -> String {
        var hash = StableHash()
        hash.add(key)
        var second = StableHash(seed: 0x84222325_cbf29ce4)
        second.add(key)
        return hash.hex + second.hex
    }

    /// The trace link of `trace` from `detector.trace_url`.
    func traceLink(_ trace: String?, _ settings: DetectorSettings) -> String? {
        trace.flatMap { id in settings.traceURL.map { $0.replacingOccurrences(of: "{trace_id}", with: id) } }
    }

    private func alert(_ service: String, _ state: ServiceState, _ verdict: RuleVerdict, state alertState: String,
                       since: Int64, end: Int64, sequence: Int64) -> Alert {
        let related = state.recentErrors.reversed().map {
            Alert.RelatedEvent(time: Timestamps.format(epochMillis: $0.timestampMs), message: String($0.message.prefix(300)), traceID: $0.traceID)
        }
        let url = traceLink(state.recentErrors.last(where: { $0.traceID != nil })?.traceID, settings)
        return Alert(id: Self.alertID("\(verdict.rule)|\(service)|\(since)|\(alertState)|\(sequence)"), rule: verdict.rule, service: service, state: alertState,
                     severity: alertState == "resolved" ? "info" : verdict.severity,
                     observed: verdict.observed, baseline: verdict.baseline,
                     window: .init(start: Timestamps.format(epochMillis: since), end: Timestamps.format(epochMillis: end)),
                     context: .init(events: alertState == "resolved" ? [] : related, traceURL: url, owner: owners[service]),
                     score: alertState == "resolved" ? nil : verdict.score)
    }
}
