/// One log record in the event schema of DESIGN.md (ECS names, nested objects on the wire).
public struct LogEvent: Sendable, Equatable {
    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-25T10:00:00.123Z`.
    public var timestamp: String
    public var message: String
    public var serviceName: String
    public var hostName: String?
    public var level: Level?
    public var logger: String?
    public var filePath: String?
    public var fileOffset: Int64?
    public var traceID: String?
    public var spanID: String?
    public var errorType: String?
    public var errorMessage: String?
    public var stackTrace: String?
    public var httpMethod: String?
    public var httpStatus: Int?
    public var urlPath: String?
    /// Nanoseconds.
    public var durationNs: Int64?
    public var eventID: String?
    public var original: String?
    /// Static fields from config and extra fields of structured records, as strings.
    public var labels: [(String, String)]
    /// Markers of repaired input: `invalid_utf8`, `truncated`, `unparsed`, `future_timestamp`.
    public var tags: [String]
    /// What the source formats beyond Python `logging` and JSON say (syslog, access logs,
    /// Java, klog, containers); nil for the usual Python or JSON record. Held in a box, so an
    /// event without them stays small (the agent copies one per line).
    public var facts: SourceFacts? {
        get { factsBox?.value }
        set { factsBox = newValue.map(SourceFacts.Box.init) }
    }
    var factsBox: SourceFacts.Box?

    public init(timestamp: String, message: String, serviceName: String) {
        self.timestamp = timestamp
        self.message = message
        self.serviceName = serviceName
        labels = []
        tags = []
    }

    public static func == (lhs: LogEvent, rhs: LogEvent) -> Bool {
        lhs.encoded() == rhs.encoded()
    }
}

/// The ECS fields of the formats fleets write beside Python `logging` and JSON.
public struct SourceFacts: Sendable, Equatable {
    public var processName: String?
    public var processPID: Int64?
    public var threadName: String?
    public var threadID: Int64?
    /// `log.origin.file.name` / `.line` (klog's `file.go:123`).
    public var originFile: String?
    public var originLine: Int64?
    public var syslogHostname: String?
    public var syslogFacility: Int64?
    public var syslogSeverity: Int64?
    public var clientAddress: String?
    public var userName: String?
    public var httpVersion: String?
    public var referrer: String?
    public var responseBytes: Int64?
    public var urlQuery: String?
    public var userAgent: String?
    public var kubernetesNamespace: String?
    public var kubernetesPod: String?
    public var kubernetesPodUID: String?
    public var kubernetesContainer: String?
    public var containerID: String?
    /// `stdout` / `stderr` of a container's log.
    public var containerStream: String?
    /// `event.created`: the time the source wrote, when it was too far in the future to be `@timestamp`.
    public var created: String?

    public init() {}

    /// An immutable reference to a `SourceFacts` (set anew on every change).
    final class Box: Sendable {
        let value: SourceFacts
        init(_ value: SourceFacts) { self.value = value }
    }

    /// Fills what `self` lacks from `other` (container metadata over the inner record's facts).
    public mutating func merge(_ other: SourceFacts) {
        func take<T>(_ path: WritableKeyPath<SourceFacts, T?>) { if self[keyPath: path] == nil { self[keyPath: path] = other[keyPath: path] } }
        take(\.processName); take(\.processPID); take(\.threadName); take(\.threadID); take(\.originFile); take(\.originLine)
        take(\.syslogHostname); take(\.syslogFacility); take(\.syslogSeverity); take(\.clientAddress); take(\.userName)
        take(\.httpVersion); take(\.referrer); take(\.responseBytes); take(\.urlQuery); take(\.userAgent)
        take(\.kubernetesNamespace); take(\.kubernetesPod); take(\.kubernetesPodUID); take(\.kubernetesContainer)
        take(\.containerID); take(\.containerStream); take(\.created)
    }
}

/// Log levels as the schema spells them.
public enum Level: String, Sendable, CaseIterable, Comparable {
    case debug = "DEBUG", info = "INFO", warn = "WARN", error = "ERROR", critical = "CRITICAL"

    /// The name as a JSON string, quotes included (the encoder copies it; no String per event).
    var jsonString: StaticString {
        switch self {
        case .debug: "\"DEBUG\""
        case .info: "\"INFO\""
        case .warn: "\"WARN\""
        case .error: "\"ERROR\""
        case .critical: "\"CRITICAL\""
        }
    }

    /// Normalises the spellings of Python, structlog, OpenTelemetry, Java and syslog.
    public init?(normalising text: some StringProtocol) {
        var copy = String(text)
        guard let level = copy.withUTF8({ Level(bytes: $0) }) else { return nil }
        self = level
    }

    /// The same on bytes, case-insensitive, without building a string (every agent line has a level).
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        // Python's own level names (every Python line has one), upper-cased and packed into a
        // word, by one comparison each; the other spellings through the table.
        if bytes.count >= 4, bytes.count <= 8, let base = bytes.baseAddress {
            var packed: UInt64 = 0
            for k in 0..<bytes.count {
                let c = base[k]
                packed |= UInt64(c &- 97 < 26 ? c &- 32 : c) &<< UInt64(8 &* k)
            }
            switch packed {
            case 0x4f46_4e49: self = .info; return                 // INFO
            case 0x52_4f52_5245: self = .error; return             // ERROR
            case 0x47_4e49_4e52_4157: self = .warn; return         // WARNING
            case 0x4e52_4157: self = .warn; return                 // WARN
            case 0x47_5542_4544: self = .debug; return             // DEBUG
            case 0x4c41_4349_5449_5243: self = .critical; return   // CRITICAL
            default: break
            }
        }
        self.init(spelling: bytes)
    }

    /// `init(bytes:)` by the table of spellings alone.
    init?(spelling bytes: UnsafeBufferPointer<UInt8>) {
        for (name, level) in Self.spellings where name.count == bytes.count {
            var equal = true
            for k in 0..<name.count {
                let c = bytes[k]
                if (c >= 97 && c <= 122 ? c - 32 : c) != name[k] { equal = false; break }
            }
            if equal { self = level; return }
        }
        return nil
    }

    static let spellings: [([UInt8], Level)] = ([
        ("INFO", .info), ("ERROR", .error), ("WARNING", .warn), ("WARN", .warn), ("DEBUG", .debug), ("CRITICAL", .critical),
        ("TRACE", .debug), ("FINE", .debug), ("FINER", .debug), ("FINEST", .debug), ("DBG", .debug), ("D", .debug),
        ("INFORMATION", .info), ("NOTICE", .info), ("INF", .info), ("I", .info), ("WRN", .warn), ("W", .warn),
        ("ERR", .error), ("EXCEPTION", .error), ("SEVERE", .error), ("E", .error),
        ("FATAL", .critical), ("CRIT", .critical), ("EMERG", .critical), ("EMERGENCY", .critical), ("ALERT", .critical),
        ("PANIC", .critical), ("C", .critical), ("F", .critical),
    ] as [(String, Level)]).map { (name: String, level: Level) in (Array(name.utf8), level) }

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rank < rhs.rank }
}
