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
        let keyword: JSONValue = ["type": "keyword"]
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
                        ]],
                        "trace": ["properties": ["id": keyword]],
                        "span": ["properties": ["id": keyword]],
                        "event": ["properties": [
                            "id": keyword, "duration": ["type": "long"], "original": ["type": "text", "index": false],
                        ]],
                        "error": ["properties": [
                            "type": keyword, "message": ["type": "text"], "stack_trace": ["type": "text"],
                        ]],
                        "http": ["properties": [
                            "request": ["properties": ["method": keyword]],
                            "response": ["properties": ["status_code": ["type": "integer"]]],
                        ]],
                        "url": ["properties": ["path": keyword]],
                    ],
                ],
            ],
        ]
    }
}
