/// The whole of `logship.yml` (DESIGN.md "Config"), after environment overrides and defaults.
public struct LogshipConfiguration: Sendable, Equatable, Encodable {
    public struct Kafka: Sendable, Equatable, Encodable {
        public var brokers: [String] = ["127.0.0.1:9092"]
        /// Partitions of the topics logship creates.
        public var partitions = 6
        public var replicationFactor = -1
        /// Passed to librdkafka unchanged (sasl.*, ssl.*, tuning).
        public var properties: [String: String] = [:]
        public var assignor = "range,roundrobin"
        /// What producers compress batches with: zstd (default), lz4, snappy, gzip or none.
        public var compression = "zstd"
        /// The codec's level (zstd 1–22, gzip 1–9, lz4 1–12); nil: 1 for zstd, librdkafka's default for the others.
        public var compressionLevel: Int?
        public static let compressionLevels: [String: ClosedRange<Int>] = ["zstd": 1...22, "gzip": 1...9, "lz4": 1...12, "snappy": 0...0, "none": 0...0]
    }

    public struct Elasticsearch: Sendable, Equatable, Encodable {
        /// Every node to send requests to: requests spread over them and fail over.
        public var urls = ["http://127.0.0.1:9200"]
        /// The first of `urls`; setting it replaces the list (`--es-url`, `LOGSHIP_ES_URL`).
        public var url: String {
            get { urls.first ?? "http://127.0.0.1:9200" }
            set { urls = [newValue] }
        }
        public var username: String?
        public var password: String?
        public var apiKey: String?
        /// `Authorization: Bearer …` (a service-account token).
        public var bearerToken: String?
        public var timeoutMs = 30_000
        public var tls = TLS()
        public var index = Index()
        public var template = Template()
        public var ilm = ILM()

        public struct TLS: Sendable, Equatable, Encodable {
            public var caFile: String?
            public var certFile: String?
            public var keyFile: String?
            /// Verify the server's certificate and name; off only for a test cluster (warned).
            public var verify = true

            public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, verify: Bool = true) {
                self.caFile = caFile
                self.certFile = certFile
                self.keyFile = keyFile
                self.verify = verify
            }
        }

        /// Settings of the indices logship creates (through its template; existing indices keep theirs).
        public struct Index: Sendable, Equatable, Encodable {
            /// Unset: the cluster's default (ES 8: 1 shard, 1 replica).
            public var shards: Int?
            public var replicas: Int?
            public var refreshInterval: String?
            /// Extra index settings passed through, e.g. `index.codec: best_compression`.
            public var settings: [String: String] = [:]
        }

        public struct Template: Sendable, Equatable, Encodable {
            public var name = "logship-logs"
            /// Only logship's dated names (`logs-<service>-<yyyy.MM.dd>[-suffix]`), never the
            /// `logs-<dataset>-<namespace>` data streams of ES 8's built-in and Fleet templates.
            public var patterns = ["logs-*-20*"]
            /// Above Fleet's integration templates (up to 200) and ES's built-in `logs` (100).
            public var priority = 500
        }

        public struct ILM: Sendable, Equatable, Encodable {
            public var enabled = true
            public var policy = "logship-logs"
            public var deleteAfterDays = 30
        }
    }

    /// The waits of the multiline stage (`multiline_timeout`).
    public enum MultilineTimeouts {
        public static let defaultMs = 200
        public static let unfinishedMs = 1_000
    }

    public struct Input: Sendable, Equatable, Encodable {
        public enum Format: String, Sendable, CaseIterable, Encodable {
            case auto, json, python, plain, syslog, nginx, apache, java, logfmt, klog, cri, docker
        }
        public var service: String
        public var paths: [String]
        public var format: Format = .auto
        /// A preset (`auto` — by format —, `python`, `java`, `container`, `none`) or `custom`
        /// with `pattern`/`negate`/`match`.
        public var multiline: Multiline = .preset(.auto)
        /// How long a record waits at the end of what was written for a line that continues it
        /// (a record is complete at once when the next one starts). A record that is visibly
        /// unfinished — a Python traceback before its `Type: message` line, an open PEM key block,
        /// a container's partial line — waits at least `MultilineTimeouts.unfinishedMs`.
        public var multilineTimeoutMs = MultilineTimeouts.defaultMs
        /// The zone of timestamps written without one: an IANA name, `UTC`, `local` (the host's) or `+08:00`.
        public var timezone = "local"
        /// A record stamped further ahead of the host clock than this keeps its read time as
        /// `@timestamp` (the source's time goes to `event.created`).
        public var futureLimitMs = 3_600_000
        /// Globs of files not to read, beside the compressed rotations (`*.gz`, `*.zst`, `*.bz2`, `*.xz`), always skipped.
        public var exclude: [String] = []
        /// Files not modified for longer than this are not opened.
        public var ignoreOlderMs: Int?
        public var maskRules = MaskRules()
        public var fields: [String: String] = [:]
        public var startAt: StartAt = .beginning
        /// The Python `logging` format the service uses, when not the standard one.
        public var pythonFormat: String?

        public init(service: String, paths: [String]) {
            self.service = service
            self.paths = paths
        }
    }

    /// Per-input masking: built-ins to switch off or on (the opt-in PII rules), regexes to add.
    public struct MaskRules: Sendable, Equatable, Encodable {
        public var disable: [String] = []
        public var enable: [String] = []
        public var add: [Pattern] = []
        public struct Pattern: Sendable, Equatable, Encodable {
            public var name: String
            public var pattern: String
            public init(name: String, pattern: String) {
                self.name = name
                self.pattern = pattern
            }
        }
        public init() {}
    }

    /// Where reading starts in the files present at start-up (files that appear later are read whole).
    public enum StartAt: String, Sendable, CaseIterable, Encodable { case beginning, end }

    public enum Multiline: Sendable, Equatable, Encodable {
        /// `auto` picks the rule by the input's format.
        public enum Preset: String, Sendable, CaseIterable, Encodable { case auto, python, java, container, none }
        case preset(Preset)
        /// Filebeat's semantics: matching lines belong to the previous line (`after`) or the next (`before`).
        public enum Match: String, Sendable, CaseIterable, Encodable { case after, before }
        case custom(pattern: String, negate: Bool, match: Match)

        /// As logship.yml spells it (`config show`): the preset's name, or `{pattern, negate, match}`.
        public func encode(to encoder: Encoder) throws {
            switch self {
            case .preset(let preset):
                var container = encoder.singleValueContainer()
                try container.encode(preset.rawValue)
            case .custom(let pattern, let negate, let match):
                var container = encoder.container(keyedBy: CustomKeys.self)
                try container.encode(pattern, forKey: .pattern)
                try container.encode(negate, forKey: .negate)
                try container.encode(match, forKey: .match)
            }
        }

        enum CustomKeys: String, CodingKey { case pattern, negate, match }
    }

    public struct Agent: Sendable, Equatable, Encodable {
        public var dataDir = "/var/lib/logship/agent"
        public var inputs: [Input] = []
        public var maxLineBytes = 65_536
        public var metricsListen: String?
        public var maskPatterns: [String] = []
        /// `host.name` of the events; the machine's host name when unset.
        public var hostName: String?
        /// Most events waiting for Kafka's acknowledgement; reading pauses beyond it. Each costs
        /// ~850 B of librdkafka memory (bench/agent.sh: 4,000 ships as fast as 10,000, 6.5 MB less RSS).
        public var maxInFlight = 4_000
        /// How long SIGTERM waits for Kafka to acknowledge what was sent.
        public var shutdownTimeoutMs = 10_000
        /// Key of this agent's heartbeats on logship.health; `agent@<host>` when unset.
        public var componentID: String?
    }

    public struct Indexer: Sendable, Equatable, Encodable {
        public var group = "logship-indexer"
        /// librdkafka regex subscription; records of logs.dlq are skipped (committed, not indexed).
        public var topics = "^logs\\..*"
        public var batchDocuments = 2_000
        public var batchBytes = 5 * 1_048_576
        /// The oldest a batch gets while records keep coming (a busy service's bound).
        public var flushIntervalMs = 1_000
        /// How long a batch waits for more once the consumer has read all there is (a quiet
        /// service's bound): latency-bounded batching, not only size-bounded.
        public var batchWaitMs = 50
        /// `auto`: a bulk written because the indexer caught up asks Elasticsearch to refresh
        /// (searchable at once; at most every 250 ms); `off`: the index's refresh_interval decides.
        public enum Refresh: String, Sendable, Encodable, CaseIterable { case auto, off }
        public var refresh = Refresh.auto
        public var metricsListen: String?
        /// Owned partitions with lag, Elasticsearch answering and nothing fetched or indexed for
        /// this long: the indexer reports itself `stalled` (error log, heartbeat, status).
        public var stallTimeoutMs = 60_000
    }

    public struct Notify: Sendable, Equatable, Encodable {
        /// Where alerts go, and so how the message is shaped.
        public enum Kind: String, Sendable, CaseIterable, Encodable { case webhook, wecom, dingtalk, slack }
        public var type: Kind
        public var url: String
        public var secret: String?
        /// Names the destination in logs and in its consumer group (`<type>-<index>` by default).
        public var name: String
        /// At most `count` messages per `perMs`; what arrives beyond is sent as one digest when
        /// the window frees. Defaults: 20/min for wecom and dingtalk, none for the others.
        public var rateLimit: RateLimit?

        public struct RateLimit: Sendable, Equatable, Encodable {
            public var count: Int
            public var perMs: Int
            public init(count: Int, perMs: Int) { self.count = count; self.perMs = perMs }
        }

        public init(type: Kind, url: String, secret: String? = nil, name: String, rateLimit: RateLimit? = nil) {
            self.type = type
            self.url = url
            self.secret = secret
            self.name = name
            self.rateLimit = rateLimit
        }
    }

    /// Parameters of the detector's rules by rule name (`error_surge`, `http_5xx_ratio`,
    /// `error_rate`, `slow_requests`, `silence`, `volume_surge`), e.g. `["error_surge":
    /// ["increase": 3]]`. `enabled: false` turns a rule off; `model: preset` judges it by its
    /// fixed thresholds instead of the anomaly score (stored as `model` = 1; `score` = 0);
    /// `score` is the rule's own score threshold. `new_pattern`'s `look_back` is a duration,
    /// stored in milliseconds.
    public typealias RuleParameters = [String: [String: Double]]
    public static let ruleParameterNames: [String: Set<String>] = [
        "error_surge": ["enabled", "model", "score", "span", "increase", "min_count"],
        "slow_requests": ["enabled", "model", "score", "span", "increase", "min_count"],
        "http_5xx_ratio": ["enabled", "model", "score", "span", "factor", "min_requests", "min_ratio"],
        "error_rate": ["enabled", "model", "score", "span", "threshold", "min_events"],
        "silence": ["enabled", "model", "score", "quiet_windows", "min_per_window"],
        "volume_surge": ["enabled", "model", "score", "span", "increase", "min_count"],
        "new_pattern": ["enabled", "min_count", "span", "look_back", "max_templates"],
    ]

    public struct Detector: Sendable, Equatable, Encodable {
        public var group = "logship-detector"
        /// `/metrics` and `/health` of the detector (and of the notifier it runs) on host:port.
        public var metricsListen: String?
        public var notify: [Notify] = []
        /// Event-time window length, allowed lateness, suppress window, slow-request threshold.
        public var windowMs = 60_000
        public var allowedLatenessMs = 30_000
        public var suppressMs = 3_600_000
        public var slowThresholdMs = 1_000
        /// A scored rule fires (warning) at this anomaly score, and is critical from `criticalScore`.
        public var scoreThreshold = 0.8
        public var criticalScore = 0.95
        /// How long a new alert is held so an escalation is delivered once (nil: one window).
        public var groupWaitMs: Int?
        /// Link from an alert to its trace; `{trace_id}` is replaced.
        public var traceURL: String?
        /// Rule parameters for every service; `services.<name>.rules` overrides them per service.
        public var rules: RuleParameters = [:]
        /// Group of the notifier (one member per destination: `<group>.<destination name>`).
        public var notifierGroup = "logship-notifier"
    }

    public struct Coordinator: Sendable, Equatable, Encodable {
        public var listen = "127.0.0.1:9700"
        public var heartbeatIntervalMs = 5_000
        public var token: String?
        /// A component silent (or stopped) for longer than this is forgotten: no longer listed,
        /// no longer counted stale — a crash-and-restart under a new id leaves no ghost for good.
        public var staleExpiryMs = 600_000
    }

    public struct Service: Sendable, Equatable, Encodable {
        public var owner: String?
        public var debug = false
        /// Detector rule parameters for this service, over `detector.rules`.
        public var rules: RuleParameters = [:]

        public init(owner: String? = nil, debug: Bool = false, rules: RuleParameters = [:]) {
            self.owner = owner
            self.debug = debug
            self.rules = rules
        }
    }

    public var kafka = Kafka()
    public var elasticsearch = Elasticsearch()
    public var agent = Agent()
    public var indexer = Indexer()
    public var detector = Detector()
    public var coordinator = Coordinator()
    public var services: [String: Service] = [:]

    public init() {}
}

/// One thing wrong with a configuration, and where.
public struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path, e.g. `agent.inputs[1].format`.
    public var path: String
    public var message: String

    public var description: String { "\(path): \(message)" }
}

/// Every problem of a configuration at once, so the operator fixes them in one pass.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var problems: [ConfigurationProblem]

    public var description: String {
        let noun = problems.count == 1 ? "problem" : "problems"
        return "\(source): \(problems.count) \(noun)\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
