import Foundation
import LogModel
import Yams

/// Loads `logship.yml`, applies `LOGSHIP_*` environment overrides, and validates the result.
/// Every problem is reported at once, each with its key path.
public enum ConfigurationLoader {
    /// Environment variables that override config keys (documented in the README).
    public static let environmentKeys: [(variable: String, key: String)] = [
        ("LOGSHIP_KAFKA_BROKERS", "kafka.brokers (comma-separated)"),
        ("LOGSHIP_KAFKA_PARTITIONS", "kafka.partitions"),
        ("LOGSHIP_ES_URL", "elasticsearch.url"),
        ("LOGSHIP_ES_USERNAME", "elasticsearch.username"),
        ("LOGSHIP_ES_PASSWORD", "elasticsearch.password"),
        ("LOGSHIP_ES_API_KEY", "elasticsearch.api_key"),
        ("LOGSHIP_AGENT_DATA_DIR", "agent.data_dir"),
        ("LOGSHIP_INDEXER_GROUP", "indexer.group"),
        ("LOGSHIP_COORDINATOR_LISTEN", "coordinator.listen"),
        ("LOGSHIP_COORDINATOR_TOKEN", "coordinator.token"),
    ]

    /// Loads a file; a missing path with `optional` gives the defaults (plus environment).
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> LogshipConfiguration {
        guard let path else { return try parse("", source: "defaults", environment: environment) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(source: path, problems: [ConfigurationProblem(path: "(file)", message: "cannot read \(path)")])
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path, environment: environment)
    }

    public static func parse(_ yaml: String, source: String = "logship.yml",
                             environment: [String: String] = [:]) throws -> LogshipConfiguration {
        var reader = ConfigurationReader()
        let tree: Any?
        do {
            tree = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigurationError(source: source, problems: [ConfigurationProblem(path: "(yaml)", message: "\(error)")])
        }
        // ${VAR} references first, so every reader below sees the values the operator meant.
        let expanded = Interpolation.expandTree(tree, path: "", environment: environment, &reader)
        var config = LogshipConfiguration()
        if let root = reader.mapping(expanded, "", known: ["kafka", "elasticsearch", "agent", "indexer", "detector", "coordinator", "services"]) {
            readKafka(root["kafka"], into: &config.kafka, &reader)
            readElasticsearch(root["elasticsearch"], into: &config.elasticsearch, &reader)
            readAgent(root["agent"], into: &config.agent, &reader)
            readIndexer(root["indexer"], into: &config.indexer, &reader)
            readDetector(root["detector"], into: &config.detector, &reader)
            readCoordinator(root["coordinator"], into: &config.coordinator, &reader)
            readServices(root["services"], into: &config.services, &reader)
        }
        applyEnvironment(environment, to: &config, &reader)
        guard reader.problems.isEmpty else {
            throw ConfigurationError(source: source, problems: reader.problems.sorted { $0.path < $1.path })
        }
        return config
    }

    static func readKafka(_ node: Any?, into kafka: inout LogshipConfiguration.Kafka, _ r: inout ConfigurationReader) {
        guard let map = r.mapping(node, "kafka", known: ["brokers", "partitions", "replication_factor", "properties", "assignor",
                                                             "compression", "compression_level"]) else { return }
        if let brokers = r.strings(map["brokers"], "kafka.brokers") {
            if brokers.isEmpty { r.problem("kafka.brokers", "needs at least one host:port") }
            for (index, broker) in brokers.enumerated() { _ = r.hostPort(broker, "kafka.brokers[\(index)]") }
            kafka.brokers = brokers
        }
        kafka.partitions = r.int(map["partitions"], "kafka.partitions", min: 1) ?? kafka.partitions
        kafka.replicationFactor = r.int(map["replication_factor"], "kafka.replication_factor", min: -1) ?? kafka.replicationFactor
        kafka.properties = r.stringMap(map["properties"], "kafka.properties") ?? kafka.properties
        kafka.assignor = r.string(map["assignor"], "kafka.assignor") ?? kafka.assignor
        if let codec = r.string(map["compression"], "kafka.compression") {
            if LogshipConfiguration.Kafka.compressionLevels[codec] == nil {
                r.problem("kafka.compression", "is \"\(codec)\"; one of zstd, lz4, snappy, gzip, none")
            } else {
                kafka.compression = codec
            }
        }
        if let level = r.int(map["compression_level"], "kafka.compression_level", min: 0) {
            let range = LogshipConfiguration.Kafka.compressionLevels[kafka.compression] ?? 0...0
            if range == 0...0 {
                r.problem("kafka.compression_level", "\(kafka.compression) has no levels")
            } else if !range.contains(level) {
                r.problem("kafka.compression_level", "is \(level); \(kafka.compression) takes \(range.lowerBound)–\(range.upperBound)")
            } else {
                kafka.compressionLevel = level
            }
        }
    }

    static func readElasticsearch(_ node: Any?, into es: inout LogshipConfiguration.Elasticsearch, _ r: inout ConfigurationReader) {
        guard let map = r.mapping(node, "elasticsearch", known: [
            "url", "urls", "username", "password", "password_file", "api_key", "api_key_file", "bearer_token",
            "bearer_token_file", "timeout", "tls", "index", "template", "ilm",
        ]) else { return }
        if map["url"] != nil && map["urls"] != nil { r.problem("elasticsearch.urls", "give url or urls, not both") }
        es.url = r.url(map["url"], "elasticsearch.url") ?? es.url
        if let urls = r.strings(map["urls"], "elasticsearch.urls") {
            if urls.isEmpty { r.problem("elasticsearch.urls", "needs at least one URL") }
            let checked = urls.enumerated().compactMap { r.url($1, "elasticsearch.urls[\($0)]") }
            if checked.count == urls.count && !urls.isEmpty { es.urls = checked.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } }
        }
        es.username = r.string(map["username"], "elasticsearch.username") ?? es.username
        es.password = r.secret(map, "password", in: "elasticsearch") ?? es.password
        es.apiKey = r.secret(map, "api_key", in: "elasticsearch") ?? es.apiKey
        es.bearerToken = r.secret(map, "bearer_token", in: "elasticsearch") ?? es.bearerToken
        es.timeoutMs = r.durationMs(map["timeout"], "elasticsearch.timeout") ?? es.timeoutMs
        if let tls = r.mapping(map["tls"], "elasticsearch.tls", known: ["ca_file", "cert_file", "key_file", "verify"]) {
            for (key, keyPath) in [("ca_file", \LogshipConfiguration.Elasticsearch.TLS.caFile), ("cert_file", \.certFile), ("key_file", \.keyFile)] {
                guard let file = r.string(tls[key], "elasticsearch.tls.\(key)") else { continue }
                if !FileManager.default.isReadableFile(atPath: file) { r.problem("elasticsearch.tls.\(key)", "cannot read \(file)") }
                es.tls[keyPath: keyPath] = file
            }
            es.tls.verify = r.bool(tls["verify"], "elasticsearch.tls.verify") ?? es.tls.verify
            if (es.tls.certFile == nil) != (es.tls.keyFile == nil) {
                r.problem("elasticsearch.tls", "a client certificate needs both cert_file and key_file")
            }
        }
        if let index = r.mapping(map["index"], "elasticsearch.index", known: ["shards", "replicas", "refresh_interval", "settings"]) {
            es.index.shards = r.int(index["shards"], "elasticsearch.index.shards", min: 1) ?? es.index.shards
            es.index.replicas = r.int(index["replicas"], "elasticsearch.index.replicas", min: 0) ?? es.index.replicas
            es.index.refreshInterval = r.string(index["refresh_interval"], "elasticsearch.index.refresh_interval") ?? es.index.refreshInterval
            es.index.settings = r.stringMap(index["settings"], "elasticsearch.index.settings") ?? es.index.settings
        }
        if let template = r.mapping(map["template"], "elasticsearch.template", known: ["name", "patterns", "priority"]) {
            es.template.name = r.string(template["name"], "elasticsearch.template.name") ?? es.template.name
            if let patterns = r.strings(template["patterns"], "elasticsearch.template.patterns") {
                if patterns.isEmpty { r.problem("elasticsearch.template.patterns", "needs at least one index pattern") }
                es.template.patterns = patterns
            }
            es.template.priority = r.int(template["priority"], "elasticsearch.template.priority", min: 0) ?? es.template.priority
        }
        if let ilm = r.mapping(map["ilm"], "elasticsearch.ilm", known: ["enabled", "policy", "delete_after_days"]) {
            es.ilm.enabled = r.bool(ilm["enabled"], "elasticsearch.ilm.enabled") ?? es.ilm.enabled
            es.ilm.policy = r.string(ilm["policy"], "elasticsearch.ilm.policy") ?? es.ilm.policy
            es.ilm.deleteAfterDays = r.int(ilm["delete_after_days"], "elasticsearch.ilm.delete_after_days", min: 1) ?? es.ilm.deleteAfterDays
        }
    }

    static func readIndexer(_ node: Any?, into indexer: inout LogshipConfiguration.Indexer, _ r: inout ConfigurationReader) {
        guard let map = r.mapping(node, "indexer", known: ["group", "topics", "batch_documents", "batch_bytes", "flush_interval", "batch_wait",
                                                               "refresh", "metrics_listen", "stall_timeout"]) else { return }
        indexer.group = r.string(map["group"], "indexer.group") ?? indexer.group
        indexer.topics = r.string(map["topics"], "indexer.topics") ?? indexer.topics
        indexer.batchDocuments = r.int(map["batch_documents"], "indexer.batch_documents", min: 1) ?? indexer.batchDocuments
        indexer.batchBytes = r.int(map["batch_bytes"], "indexer.batch_bytes", min: 1_024) ?? indexer.batchBytes
        indexer.flushIntervalMs = r.durationMs(map["flush_interval"], "indexer.flush_interval") ?? indexer.flushIntervalMs
        indexer.batchWaitMs = r.durationMs(map["batch_wait"], "indexer.batch_wait", minMs: 0) ?? indexer.batchWaitMs
        if let refresh = r.string(map["refresh"], "indexer.refresh") {
            if let value = LogshipConfiguration.Indexer.Refresh(rawValue: refresh) { indexer.refresh = value }
            else { r.problem("indexer.refresh", "is \"\(refresh)\"; one of auto, off") }
        }
        indexer.metricsListen = r.hostPort(map["metrics_listen"], "indexer.metrics_listen") ?? indexer.metricsListen
        indexer.stallTimeoutMs = r.durationMs(map["stall_timeout"], "indexer.stall_timeout", minMs: 1_000) ?? indexer.stallTimeoutMs
    }

    static func readDetector(_ node: Any?, into detector: inout LogshipConfiguration.Detector, _ r: inout ConfigurationReader) {
        guard let map = r.mapping(node, "detector", known: ["group", "notify", "window", "allowed_lateness", "suppress",
                                                             "slow_threshold", "trace_url", "rules", "notifier_group", "metrics_listen",
                                                             "score_threshold", "critical_score", "group_wait"]) else { return }
        detector.scoreThreshold = r.score(map["score_threshold"], "detector.score_threshold") ?? detector.scoreThreshold
        detector.criticalScore = r.score(map["critical_score"], "detector.critical_score") ?? detector.criticalScore
        detector.groupWaitMs = r.durationMs(map["group_wait"], "detector.group_wait") ?? detector.groupWaitMs
        if detector.criticalScore < detector.scoreThreshold {
            r.problem("detector.critical_score", "must be at least detector.score_threshold (\(detector.scoreThreshold)), found \(detector.criticalScore)")
        }
        detector.metricsListen = r.hostPort(map["metrics_listen"], "detector.metrics_listen") ?? detector.metricsListen
        detector.rules = readRules(map["rules"], "detector.rules", &r)
        detector.notifierGroup = r.string(map["notifier_group"], "detector.notifier_group") ?? detector.notifierGroup
        detector.group = r.string(map["group"], "detector.group") ?? detector.group
        detector.windowMs = r.durationMs(map["window"], "detector.window") ?? detector.windowMs
        detector.allowedLatenessMs = r.durationMs(map["allowed_lateness"], "detector.allowed_lateness") ?? detector.allowedLatenessMs
        detector.suppressMs = r.durationMs(map["suppress"], "detector.suppress") ?? detector.suppressMs
        detector.slowThresholdMs = r.durationMs(map["slow_threshold"], "detector.slow_threshold") ?? detector.slowThresholdMs
        if map["window"] != nil && detector.windowMs < 1_000 { r.problem("detector.window", "must be at least 1s") }
        if let template = r.string(map["trace_url"], "detector.trace_url") {
            if !template.contains("{trace_id}") { r.problem("detector.trace_url", "must contain {trace_id}, where the trace id goes") }
            detector.traceURL = template
        }
        guard let notify = map["notify"] else { return }
        guard let list = notify as? [Any] else {
            r.problem("detector.notify", "expected a list of destinations")
            return
        }
        detector.notify = list.enumerated().compactMap { index, node in
            let path = "detector.notify[\(index)]"
            guard let entry = r.mapping(node, path, known: ["type", "url", "secret", "name", "rate_limit"]) else { return nil }
            let typeName = r.string(entry["type"], "\(path).type") ?? ""
            let type = LogshipConfiguration.Notify.Kind(rawValue: typeName) ?? .webhook
            if LogshipConfiguration.Notify.Kind(rawValue: typeName) == nil {
                r.problem("\(path).type", "must be webhook, wecom, dingtalk or slack; found \"\(typeName)\"")
            }
            if entry["url"] == nil { r.problem("\(path).url", "is required") }
            let url = r.url(entry["url"], "\(path).url") ?? ""
            let secret = r.string(entry["secret"], "\(path).secret")
            if type == .dingtalk && secret == nil { r.problem("\(path).secret", "is required for dingtalk (the robot's signing secret)") }
            var rateLimit: LogshipConfiguration.Notify.RateLimit? = [.wecom, .dingtalk].contains(type) ? .init(count: 20, perMs: 60_000) : nil
            if let text = r.string(entry["rate_limit"], "\(path).rate_limit") {
                let parts = text.split(separator: "/", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                let per = parts.count == 2 ? (["s": "1s", "sec": "1s", "min": "1m", "m": "1m", "h": "1h"][parts[1]] ?? parts[1]) : ""
                if parts.count == 2, let count = Int(parts[0]), count > 0, let ms = DurationText.parseMilliseconds(per), ms > 0 {
                    rateLimit = .init(count: count, perMs: ms)
                } else {
                    r.problem("\(path).rate_limit", "expected COUNT/PERIOD like 20/min or 5/10s, found \"\(text)\"")
                }
            }
            let name = r.string(entry["name"], "\(path).name") ?? "\(type.rawValue)-\(index)"
            return LogshipConfiguration.Notify(type: type, url: url, secret: secret, name: name, rateLimit: rateLimit)
        }
        let names = detector.notify.map(\.name)
        for name in Set(names) where names.filter({ $0 == name }).count > 1 {
            r.problem("detector.notify", "destination name \"\(name)\" is used twice")
        }
    }

    /// `rules: {error_surge: {increase: 3, min_count: 10}, silence: {enabled: false}}`.
    static func readRules(_ node: Any?, _ path: String, _ r: inout ConfigurationReader) -> LogshipConfiguration.RuleParameters {
        guard let map = r.mapping(node, path, known: Set(LogshipConfiguration.ruleParameterNames.keys)) else { return [:] }
        var rules: LogshipConfiguration.RuleParameters = [:]
        for (rule, value) in map {
            let rulePath = "\(path).\(rule)"
            guard let known = LogshipConfiguration.ruleParameterNames[rule],
                  let parameters = r.mapping(value, rulePath, known: known) else { continue }
            for (name, raw) in parameters {
                if name == "model" {
                    switch "\(raw)" {
                    case "score": rules[rule, default: [:]][name] = 0
                    case "preset": rules[rule, default: [:]][name] = 1
                    default: r.problem("\(rulePath).model", "expected score or preset, found \(raw)")
                    }
                    continue
                }
                if name == "score" {
                    if let score = r.score(raw, "\(rulePath).score") { rules[rule, default: [:]][name] = score }
                    continue
                }
                if name == "look_back" {
                    if let ms = r.durationMs(raw, "\(rulePath).look_back", minMs: 60_000) { rules[rule, default: [:]][name] = Double(ms) }
                    continue
                }
                let number: Double?
                switch raw {
                case let flag as Bool: number = flag ? 1 : 0
                case let int as Int: number = Double(int)
                case let double as Double: number = double
                case let text as String: number = Double(text) ?? Bool(text).map { $0 ? 1 : 0 }
                default: number = nil
                }
                guard let number, number >= 0 else {
                    r.problem("\(rulePath).\(name)", "expected a number ≥ 0\(name == "enabled" ? " or true/false" : ""), found \(raw)")
                    continue
                }
                let counted = rule == "new_pattern" && ["min_count", "max_templates"].contains(name)
                if (["span", "quiet_windows"].contains(name) || counted) && number < 1 {
                    r.problem("\(rulePath).\(name)", counted ? "must be at least 1" : "must be at least 1 window")
                    continue
                }
                rules[rule, default: [:]][name] = number
            }
        }
        return rules
    }

    static func readCoordinator(_ node: Any?, into coordinator: inout LogshipConfiguration.Coordinator, _ r: inout ConfigurationReader) {
        guard let map = r.mapping(node, "coordinator", known: ["listen", "heartbeat_interval", "token", "stale_expiry"]) else { return }
        coordinator.staleExpiryMs = r.durationMs(map["stale_expiry"], "coordinator.stale_expiry") ?? coordinator.staleExpiryMs
        coordinator.listen = r.hostPort(map["listen"], "coordinator.listen") ?? coordinator.listen
        coordinator.heartbeatIntervalMs = r.durationMs(map["heartbeat_interval"], "coordinator.heartbeat_interval") ?? coordinator.heartbeatIntervalMs
        coordinator.token = r.string(map["token"], "coordinator.token") ?? coordinator.token
    }

    static func readServices(_ node: Any?, into services: inout [String: LogshipConfiguration.Service], _ r: inout ConfigurationReader) {
        guard let map = r.mapping(node, "services", known: nil) else { return }
        for (name, value) in map {
            let path = "services.\(name)"
            guard let entry = r.mapping(value ?? [:] as [AnyHashable: Any], path, known: ["owner", "debug", "rules"]) else { continue }
            services[name] = LogshipConfiguration.Service(owner: r.string(entry["owner"], "\(path).owner"),
                                                          debug: r.bool(entry["debug"], "\(path).debug") ?? false,
                                                          rules: readRules(entry["rules"], "\(path).rules", &r))
        }
    }

    static func applyEnvironment(_ env: [String: String], to config: inout LogshipConfiguration, _ r: inout ConfigurationReader) {
        if let brokers = env["LOGSHIP_KAFKA_BROKERS"] {
            let list = brokers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for broker in list { _ = r.hostPort(broker, "LOGSHIP_KAFKA_BROKERS") }
            config.kafka.brokers = list
        }
        if let value = env["LOGSHIP_KAFKA_PARTITIONS"] { config.kafka.partitions = r.int(value, "LOGSHIP_KAFKA_PARTITIONS", min: 1) ?? config.kafka.partitions }
        if let value = env["LOGSHIP_ES_URL"] { config.elasticsearch.url = r.url(value, "LOGSHIP_ES_URL") ?? config.elasticsearch.url }
        if let value = env["LOGSHIP_ES_USERNAME"] { config.elasticsearch.username = value }
        if let value = env["LOGSHIP_ES_PASSWORD"] { config.elasticsearch.password = value }
        if let value = env["LOGSHIP_ES_API_KEY"] { config.elasticsearch.apiKey = value }
        if let value = env["LOGSHIP_AGENT_DATA_DIR"] { config.agent.dataDir = value }
        if let value = env["LOGSHIP_INDEXER_GROUP"] { config.indexer.group = value }
        if let value = env["LOGSHIP_COORDINATOR_LISTEN"] { config.coordinator.listen = r.hostPort(value, "LOGSHIP_COORDINATOR_LISTEN") ?? config.coordinator.listen }
        if let value = env["LOGSHIP_COORDINATOR_TOKEN"] { config.coordinator.token = value }
    }
}
