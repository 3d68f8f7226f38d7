import LogModel

/// An alert as produced to `logship.alerts` (JSON) and sent to the destinations.
public struct Alert: Codable, Sendable, Equatable {
    public struct Window: Codable, Sendable, Equatable {
        public var start: String
        public var end: String
        public init(start: String, end: String) { self.start = start; self.end = end }
    }

    public struct RelatedEvent: Codable, Sendable, Equatable {
        public var time: String
        public var message: String
        public var traceID: String?

        enum CodingKeys: String, CodingKey { case time, message, traceID = "trace_id" }
        public init(time: String, message: String, traceID: String?) { self.time = time; self.message = message; self.traceID = traceID }
    }

    public struct Context: Codable, Sendable, Equatable {
        public var events: [RelatedEvent]
        public var traceURL: String?
        public var owner: String?

        enum CodingKeys: String, CodingKey { case events, owner, traceURL = "trace_url" }
        public init(events: [RelatedEvent], traceURL: String?, owner: String?) { self.events = events; self.traceURL = traceURL; self.owner = owner }
    }

    /// Stable for the same incident and state: a restarted detector that re-derives it produces
    /// the same id, and destinations use it as the idempotency key.
    public var id: String
    public var rule: String
    public var service: String
    /// `firing` or `resolved`.
    public var state: String
    public var severity: String
    public var observed: Double
    public var baseline: Double
    public var window: Window
    public var context: Context
    /// The rule's anomaly score in [0, 1] (scored rules; absent for presets and resolutions).
    public var score: Double?
    /// The incident the alert is grouped in (alerts of several services sharing trace ids).
    public var incident: Incident?
    /// `new_pattern`: the template that is new (`<*>` for its variable parts) and its stable id.
    public var pattern: Pattern?

    public struct Pattern: Codable, Sendable, Equatable {
        public var id: String
        public var template: String
        public init(id: String, template: String) { self.id = id; self.template = template }
    }

    public init(id: String, rule: String, service: String, state: String, severity: String, observed: Double,
                baseline: Double, window: Window, context: Context, score: Double? = nil) {
        self.score = score
        self.id = id
        self.rule = rule
        self.service = service
        self.state = state
        self.severity = severity
        self.observed = observed
        self.baseline = baseline
        self.window = window
        self.context = context
    }
}
