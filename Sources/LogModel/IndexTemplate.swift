/// The index template for `logs-*` (DESIGN.md "Index"): the fields people filter on are
/// keywords, `message` is full text, numbers are numbers.
public enum IndexTemplate {
    public static let name = "logship-logs"

    public static func logs(shards: Int = 1, replicas: Int = 0, ilmPolicy: String? = nil) -> JSONValue {
        var settings: [String: JSONValue] = [
            "number_of_shards": .number(Double(shards)),
            "number_of_replicas": .number(Double(replicas)),
        ]
        if let ilmPolicy { settings["index.lifecycle.name"] = .string(ilmPolicy) }
        let keyword: JSONValue = ["type": "keyword"]
        return [
            "index_patterns": ["logs-*"],
            "priority": 100,
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
