import LogModel

/// What a counter (the detector's first stage) read from one source partition in one step: the
/// partial counts of each event-time window it touched, keyed by service on
/// `logship.detector.windows`, for the judge (the second stage) to merge. A service's windows are
/// exact however its partitions are spread over counters: the judge sums the partials of every
/// partition and closes a window only when every active partition has passed it.
public struct WindowPartial: Codable, Sendable, Equatable {
    public var service: String
    /// `topic/partition` of the events.
    public var source: String
    /// Partitions of the source's topic: the judge closes a service's windows only once it has
    /// heard from every one (events, or idle).
    public var partitions: Int
    /// The largest event time read from the source so far (by this counter).
    public var watermarkMs: Int64
    /// The counter had read the source to its end and found nothing new: the source does not
    /// hold back the service's windows until it has events again.
    public var idle: Bool
    public var windows: [Counts]

    public struct Counts: Codable, Sendable, Equatable {
        public var startMs: Int64
        public var total = 0.0
        public var errorEvents = 0.0
        /// Errors without a trace id (weighted); errors with one are listed by trace, so the
        /// judge counts each trace once per window whichever partitions its errors came through.
        public var untracedErrors = 0.0
        public var errorTraces: [String] = []
        public var warnings = 0
        public var requests = 0
        public var serverErrors = 0
        public var slow = 0
        /// The last three error events (alert context) and the traced errors (incidents).
        public var samples: [Sample] = []
        public var marks: [Mark] = []
        /// ERROR and CRITICAL events by masked shape (the `new_pattern` rule; absent when none).
        public var patterns: [String: PatternTally]?

        public init(startMs: Int64) { self.startMs = startMs }
    }

    public struct Sample: Codable, Sendable, Equatable {
        public var timestampMs: Int64
        public var message: String
        public var traceID: String?
    }

    public struct Mark: Codable, Sendable, Equatable {
        public var trace: String
        public var timestampMs: Int64
        public var durationNs: Int64?
    }

    public init(service: String, source: String, partitions: Int, watermarkMs: Int64, idle: Bool, windows: [Counts]) {
        self.service = service
        self.source = source
        self.partitions = partitions
        self.watermarkMs = watermarkMs
        self.idle = idle
        self.windows = windows
    }
}

/// The counter's pure part: events of one step, by source partition, into partials.
public struct PartialCounter: Sendable {
    public let windowMs: Int64
    public let slowNs: Int64
    /// Shape error events for `new_pattern` (off when the rule is off everywhere).
    public let shapePatterns: Bool
    /// Traced errors kept per partial window for incidents.
    public static let marksPerWindow = 64

    public init(windowMs: Int64, slowNs: Int64, shapePatterns: Bool = true) {
        self.windowMs = max(windowMs, 1)
        self.slowNs = slowNs
        self.shapePatterns = shapePatterns
    }

    func windowStart(_ ms: Int64) -> Int64 {
        let remainder = ms % windowMs
        return ms - (remainder < 0 ? remainder + windowMs : remainder)
    }

    /// One partial per (service, source) with events in `events`, sources in order; the
    /// watermark of a source is the largest of `previous[source]` and its events' times;
    /// `partitions(source)` is the partition count of the source's topic.
    public func count(_ events: [(source: String, event: DetectorEvent)], previous: [String: Int64] = [:],
                      partitions: (String) -> Int) -> [WindowPartial] {
        struct Key: Hashable { var service: String; var source: String }
        var partials: [Key: (watermark: Int64, windows: [Int64: WindowPartial.Counts], traces: [Int64: Set<String>])] = [:]
        var order: [Key] = []
        for (source, event) in events {
            let key = Key(service: event.service, source: source)
            if partials[key] == nil {
                partials[key] = (previous[source] ?? .min, [:], [:])
                order.append(key)
            }
            let start = windowStart(event.timestampMs)
            var entry = partials[key]!
            entry.watermark = max(entry.watermark, event.timestampMs)
            var counts = entry.windows[start] ?? WindowPartial.Counts(startMs: start)
            counts.total += event.weight
            switch event.level {
            case .error, .critical:
                counts.errorEvents += event.weight
                if let trace = event.traceID {
                    if entry.traces[start, default: []].insert(trace).inserted { counts.errorTraces.append(trace) }
                    if counts.marks.count < Self.marksPerWindow {
                        counts.marks.append(.init(trace: trace, timestampMs: event.timestampMs, durationNs: event.durationNs))
                    }
                } else {
                    counts.untracedErrors += event.weight
                }
                counts.samples.append(.init(timestampMs: event.timestampMs, message: String(event.message.prefix(300)), traceID: event.traceID))
                if counts.samples.count > 3 { counts.samples.removeFirst() }
                if shapePatterns { [String: PatternTally].note(event, in: &counts.patterns) }
            case .warn: counts.warnings += 1
            default: break
            }
            if let status = event.httpStatus {
                counts.requests += 1
                if status >= 500 { counts.serverErrors += 1 }
            }
            if let duration = event.durationNs, duration > slowNs { counts.slow += 1 }
            entry.windows[start] = counts
            partials[key] = entry
        }
        return order.map { key in
            let entry = partials[key]!
            return WindowPartial(service: key.service, source: key.source, partitions: partitions(key.source), watermarkMs: entry.watermark, idle: false,
                                 windows: entry.windows.values.sorted { $0.startMs < $1.startMs })
        }
    }
}

extension WindowCounts {
    /// Adds a counter's partial counts of this window; errors of a trace count once.
    mutating func merge(_ counts: WindowPartial.Counts) {
        total += counts.total
        errorEvents += counts.errorEvents
        errors += counts.untracedErrors
        for trace in counts.errorTraces where errorTraces.insert(trace).inserted { errors += 1 }
        warnings += counts.warnings
        requests += counts.requests
        serverErrors += counts.serverErrors
        slow += counts.slow
        if let shapes = counts.patterns {
            patterns = patterns ?? [:]
            patterns!.merge(shapes)
        }
    }
}
