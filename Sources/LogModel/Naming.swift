/// Naming rules shared by every role (DESIGN.md "Contracts").
public enum Naming {
    public static let topicPrefix = "logs."
    public static let deadLetterTopic = "logs.dlq"
    public static let alertsTopic = "logship.alerts"
    public static let healthTopic = "logship.health"
    /// The detector's partial window counts, from its counters to its judges (keyed by service).
    public static let detectorWindowsTopic = "logship.detector.windows"
    /// The detector's learnt state per service (compacted, keyed by service).
    public static let detectorStateTopic = "logship.detector.state"
    public static let indexPattern = "logs-*"

    /// `logs.<service>`: lower-cased, anything outside `[a-z0-9._-]` becomes `_`.
    public static func topic(forService service: String) -> String {
        topicPrefix + sanitize(service)
    }

    public static func sanitize(_ service: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
        let mapped = service.lowercased().map { allowed.contains($0) ? $0 : "_" }
        return mapped.isEmpty ? "unknown" : String(mapped)
    }

    /// The service a `logs.<service>` topic carries, nil for other topics (and the DLQ).
    public static func service(ofTopic topic: String) -> String? {
        guard topic.hasPrefix(topicPrefix), topic != deadLetterTopic else { return nil }
        let name = topic.dropFirst(topicPrefix.count)
        return name.isEmpty ? nil : String(name)
    }

    /// `logs-<service>-<yyyy.MM.dd>`; the date comes from the event's UTC `@timestamp`.
    public static func index(service: String, year: Int, month: Int, day: Int, suffix: String? = nil) -> String {
        let date = "\(year)." + pad(month) + "." + pad(day)
        return "logs-\(sanitize(service))-\(date)" + (suffix.map { "-\($0)" } ?? "")
    }

    /// The read alias of a service: `logs-<service>`.
    public static func alias(service: String) -> String { "logs-\(sanitize(service))" }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
