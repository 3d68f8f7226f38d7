/// The index template for `logs-*` (DESIGN.md "Index"): the fields people filter on are
/// keywords, `message` is full text, numbers are numbers.
public enum IndexTemplate {
    public static let name = "logship-logs"
    /// Only logship's dated names (`logs-<service>-<yyyy.MM.dd>` and reindex suffixes after the
    /// date). ES 8 ships the `logs` template on `logs-*-*` (priority 100, data streams) and Fleet
    /// installs `logs-<dataset>-*` at up to 200: a broad `logs-*` at 100 is refused (two
    /// overlapping templates of one priority), and a broad high-priority one would capture every
    /// Elastic Agent data stream (`logs-nginx.access-default`). Dated names never collide with a
    /// data stream's `<namespace>`, and 500 (Elastic's advice for custom templates) outranks both.
    public static let patterns = ["logs-*-20*"]
    public static let priority = 500

    /// `settings` are extra index settings (shards, replicas, refresh interval, pass-through
    /// keys); an unset shard or replica count leaves the cluster's default.
    public static func logs(patterns: [String] = patterns, priority: Int = priority, settings: [String: JSONValue] = [:],
                            ilmPolicy: String? = nil) -> JSONValue {
        var settings = settings
        if let ilmPolicy { settings["index.lifecycle.name"] = .string(ilmPolicy) }
        let keyword: JSONValue = ["type": "keyword"], long: JSONValue = ["type": "long"]
        return [
            "index_patterns": .array(patterns.map { .string($0) }),
            "priority": .number(Double(priority)),
            "template": [
                "settings": .object(settings),
                "mappings": [
                    "dynamic": true,
                    "properties": [
                        "@timestamp": ["type": "date"],
                        "message": ["type": "text"],
                        "service": ["properties": ["name": keyword]],
                        "host": ["properties": ["name": keyword]],
                        "log": ["properties": [
                            "level": keyword, "logger": keyword,
                            "file": ["properties": ["path": keyword]], "offset": ["type": "long"],
                            "origin": ["properties": ["file": ["properties": ["name": keyword, "line": long]]]],
                            "syslog": ["properties": [
                                "hostname": keyword,
                                "facility": ["properties": ["code": long]], "severity": ["properties": ["code": long]],
                            ]],
                        ]],
                        "trace": ["properties": ["id": keyword]],
                        "span": ["properties": ["id": keyword]],
                        "event": ["properties": [
                            "id": keyword, "duration": long, "original": ["type": "text", "index": false],
                            "created": ["type": "date"],
                        ]],
                        "error": ["properties": [
                            "type": keyword, "message": ["type": "text"], "stack_trace": ["type": "text"],
                        ]],
                        "http": ["properties": [
                            "request": ["properties": ["method": keyword, "referrer": keyword]],
                            "response": ["properties": ["status_code": ["type": "integer"], "body": ["properties": ["bytes": long]]]],
                            "version": keyword,
                        ]],
                        "url": ["properties": ["path": keyword, "query": keyword]],
                        // The formats beside Python and JSON (syslog, access logs, Java, klog, containers).
                        "process": ["properties": [
                            "name": keyword, "pid": long, "thread": ["properties": ["id": long, "name": keyword]],
                        ]],
                        "client": ["properties": ["address": keyword]],
                        "user": ["properties": ["name": keyword]],
                        "user_agent": ["properties": ["original": keyword]],
                        "kubernetes": ["properties": [
                            "namespace": keyword, "pod": ["properties": ["name": keyword, "uid": keyword]],
                            "container": ["properties": ["name": keyword]],
                        ]],
                        "container": ["properties": ["id": keyword, "name": keyword, "stream": keyword]],
                        "tags": keyword,
                    ],
                ],
            ],
        ]
    }
}
