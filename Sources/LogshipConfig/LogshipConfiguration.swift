/// The whole of `logship.yml` (DESIGN.md "Config"), after environment overrides and defaults.
public struct LogshipConfiguration: Sendable, Equatable {
    public struct Kafka: Sendable, Equatable {
        public var brokers: [String] = ["127.0.0.1:9092"]
        /// Partitions of the topics logship creates.
        public var partitions = 6
        public var replicationFactor = -1
        /// Passed to librdkafka unchanged (sasl.*, ssl.*, tuning).
        public var properties: [String: String] = [:]
        public var assignor = "range,roundrobin"
    }

    public struct Elasticsearch: Sendable, Equatable {
        public var url = "http://127.0.0.1:9200"
        public var username: String?
        public var password: String?
        public var apiKey: String?
        public var timeoutMs = 30_000
    }

    public struct Input: Sendable, Equatable {
        public enum Format: String, Sendable, CaseIterable { case auto, json, python, plain }
        public var service: String
        public var paths: [String]
        public var format: Format = .auto
        /// A preset (`python`, `java`, `none`) or `custom` with `pattern`/`negate`/`match`.
        public var multiline: Multiline = .preset("python")
        public var fields: [String: String] = [:]
        public var startAt: String = "beginning"
        /// The Python `logging` format the service uses, when not the standard one.
        public var pythonFormat: String?

        public init(service: String, paths: [String]) {
            self.service = service
            self.paths = paths
        }
    }

    public enum Multiline: Sendable, Equatable {
        case preset(String)
        case custom(pattern: String, negate: Bool, match: String)
    }

    public struct Agent: Sendable, Equatable {
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

    public struct Indexer: Sendable, Equatable {
        public var group = "logship-indexer"
        /// librdkafka regex subscription; records of logs.dlq are skipped (committed, not indexed).
        public var topics = "^logs\\..*"
        public var batchDocuments = 2_000
        public var batchBytes = 5 * 1_048_576
        public var flushIntervalMs = 1_000
        public var metricsListen: String?
        /// Owned partitions with lag, Elasticsearch answering and nothing fetched or indexed for
        /// this long: the indexer reports itself `stalled` (error log, heartbeat, status).
        public var stallTimeoutMs = 60_000
    }

    public struct Notify: Sendable, Equatable {
        public var type: String
        public var url: String
        public var secret: String?
        /// Names the destination in logs and in its consumer group (`<type>-<index>` by default).
        public var name: String
        /// At most `count` messages per `perMs`; what arrives beyond is sent as one digest when
        /// the window frees. Defaults: 20/min for wecom and dingtalk, none for the others.
        public var rateLimit: RateLimit?

        public struct RateLimit: Sendable, Equatable {
            public var count: Int
            public var perMs: Int
            public init(count: Int, perMs: Int) { self.count = count; self.perMs = perMs }
        }

        public init(type: String, url: String, secret: String? = nil, name: String, rateLimit: RateLimit? = nil) {
            self.type = type
            self.url = url
            self.secret = secret
            self.name = name
            self.rateLimit = rateLimit
        }
    }

    /// Parameters of the detector's rules by rule name (`error_surge`, `http_5xx_ratio`,
    /// `error_rate`, `slow_requests`, `silence`), e.g. `["error_surge": ["increase": 3]]`.
    /// `enabled: false` turns a rule off.
    public typealias RuleParameters = [String: [String: Double]]
    public static let ruleParameterNames: [String: Set<String>] = [
        "error_surge": ["enabled", "span", "increase", "min_count"],
        "slow_requests": ["enabled", "span", "increase", "min_count"],
        "http_5xx_ratio": ["enabled", "span", "factor", "min_requests", "min_ratio"],
        "error_rate": ["enabled", "span", "threshold", "min_events"],
        "silence": ["enabled", "quiet_windows", "min_per_window"],
    ]

    public struct Detector: Sendable, Equatable {
        public var group = "logship-detector"
        public var notify: [Notify] = []
        /// Event-time window length, allowed lateness, suppress window, slow-request threshold.
        public var windowMs = 60_000
        public var allowedLatenessMs = 30_000
        public var suppressMs = 3_600_000
        public var slowThresholdMs = 1_000
        /// Link from an alert to its trace; `{trace_id}` is replaced.
        public var traceURL: String?
        /// Rule parameters for every service; `services.<name>.rules` overrides them per service.
        public var rules: RuleParameters = [:]
        /// Group of the notifier (one member per destination: `<group>.<destination name>`).
        public var notifierGroup = "logship-notifier"
    }

    public struct Coordinator: Sendable, Equatable {
        public var listen = "127.0.0.1:9700"
        public var heartbeatIntervalMs = 5_000
        public var token: String?
    }

    public struct Service: Sendable, Equatable {
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
