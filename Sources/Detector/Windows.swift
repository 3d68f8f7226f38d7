/// What the detector needs of one event (decoded once from the JSON in Kafka).
public struct DetectorEvent: Sendable, Equatable, Codable {
    public enum Level: UInt8, Sendable, Codable { case debug, info, warn, error, critical, unknown }

    public var service: String
    public var timestampMs: Int64
    public var level: Level
    public var httpStatus: Int?
    public var durationNs: Int64?
    public var traceID: String?
    public var message: String
    /// The exception of an error event (`error.type`, `error.message`): mined with the message.
    public var errorType: String?
    public var errorMessage: String?
    /// How many events this one stands for (1 for a log event; a series row's value, which may
    /// also be a measured, fractional or negative, value).
    public var weight: Double

    public init(service: String, timestampMs: Int64, level: Level, httpStatus: Int? = nil, durationNs: Int64? = nil,
                traceID: String? = nil, message: String = "", weight: Double = 1, errorType: String? = nil, errorMessage: String? = nil) {
        self.weight = weight
        self.errorType = errorType
        self.errorMessage = errorMessage
        self.service = service
        self.timestampMs = timestampMs
        self.level = level
        self.httpStatus = httpStatus
        self.durationNs = durationNs
        self.traceID = traceID
        self.message = message
    }

    public var isError: Bool { level == .error || level == .critical }
}

/// Counts of one event-time window of one service.
public struct WindowCounts: Sendable, Equatable, Codable {
    public var startMs: Int64
    /// Events (weights summed: exact integers up to 2^53).
    public var total = 0.0
    public var errors = 0.0
    /// ERROR and CRITICAL events, each counted (`errors` counts a trace once).
    public var errorEvents = 0.0
    public var warnings = 0
    public var requests = 0
    public var serverErrors = 0
    public var slow = 0
    /// Errors of one trace count once (a request that logs ten errors is one failure).
    var errorTraces: Set<String> = []
    /// ERROR and CRITICAL events by masked shape (`new_pattern`), while the window is open.
    var patterns: [String: PatternTally]?

    public init(startMs: Int64) { self.startMs = startMs }

    mutating func add(_ event: DetectorEvent, slowNs: Int64) {
        total += event.weight
        switch event.level {
        case .error, .critical:
            errorEvents += event.weight
            if let trace = event.traceID {
                if errorTraces.insert(trace).inserted { errors += 1 }
            } else {
                errors += event.weight
            }
            [String: PatternTally].note(event, in: &patterns)
        case .warn: warnings += 1
        default: break
        }
        if let status = event.httpStatus {
            requests += 1
            if status >= 500 { serverErrors += 1 }
        }
        if let duration = event.durationNs, duration > slowNs { slow += 1 }
    }
}

/// Tumbling event-time windows of one service. A window closes when the watermark (the largest
/// event time seen, less the allowed lateness) passes its end; an event for a closed window is
/// late: counted, never silently dropped. Pure state: the caller supplies every time.
public struct ServiceWindows: Sendable, Codable {
    public let windowMs: Int64
    public let latenessMs: Int64
    public let slowNs: Int64
    /// Open windows by start, at most a few (lateness / window + 1).
    private(set) var open: [Int64: WindowCounts] = [:]
    public private(set) var maxEventMs: Int64 = .min
    /// Windows before this start are closed.
    public private(set) var closedBefore: Int64 = .min
    public private(set) var late = 0

    public init(windowMs: Int64, latenessMs: Int64, slowNs: Int64) {
        self.windowMs = max(windowMs, 1)
        self.latenessMs = max(latenessMs, 0)
        self.slowNs = slowNs
    }

    public func windowStart(_ timestampMs: Int64) -> Int64 {
        let remainder = timestampMs % windowMs
        return timestampMs - (remainder < 0 ? remainder + windowMs : remainder)
    }

    /// Adds an event; returns false when it was late (its window had closed).
    @discardableResult
    public mutating func add(_ event: DetectorEvent) -> Bool {
        let start = windowStart(event.timestampMs)
        guard start >= closedBefore else {
            late += 1
            return false
        }
        open[start, default: WindowCounts(startMs: start)].add(event, slowNs: slowNs)
        maxEventMs = max(maxEventMs, event.timestampMs)
        return true
    }

    /// Adds a counter's partial counts (the judge's path); false when its window had closed (the
    /// events are counted late).
    @discardableResult
    public mutating func merge(_ counts: WindowPartial.Counts) -> Bool {
        guard counts.startMs >= closedBefore else {
            late += Int(min(max(counts.total, 0), 1e15))
            return false
        }
        open[counts.startMs, default: WindowCounts(startMs: counts.startMs)].merge(counts)
        return true
    }

    /// Closes every window that ends at or before `watermarkMs`, empty ones included (a quiet
    /// minute is a zero, which the silence rule needs), oldest first.
    public mutating func close(upTo watermarkMs: Int64) -> [WindowCounts] {
        let limit = windowStart(watermarkMs)  // windows starting before this have ended
        guard limit > closedBefore else { return [] }
        // Before the first close, start at the first window with events (none before it).
        var start = closedBefore == .min ? (open.keys.min() ?? limit) : closedBefore
        guard start < limit else { return [] }
        var closed: [WindowCounts] = []
        while start < limit {
            var window = open.removeValue(forKey: start) ?? WindowCounts(startMs: start)
            window.errorTraces = []  // deduplication is done once a window closes
            closed.append(window)
            start += windowMs
        }
        closedBefore = limit
        return closed
    }

    /// This service's own watermark.
    public var watermarkMs: Int64 { maxEventMs == .min ? .min : maxEventMs - latenessMs }
}
