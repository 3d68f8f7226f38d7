import Foundation
import LogModel

/// The `agent:` section: its settings and each input (files, format, multiline, time zone, masking).
extension ConfigurationLoader {
    static func readAgent(_ node: Any?, into agent: inout LogshipConfiguration.Agent, _ r: inout ConfigurationReader) {
        guard let map = r.mapping(node, "agent", known: ["data_dir", "inputs", "max_line_bytes", "metrics_listen", "mask_patterns",
                                                                 "host_name", "max_in_flight", "shutdown_timeout", "component_id"]) else { return }
        agent.componentID = r.string(map["component_id"], "agent.component_id") ?? agent.componentID
        agent.hostName = r.string(map["host_name"], "agent.host_name") ?? agent.hostName
        agent.maxInFlight = r.int(map["max_in_flight"], "agent.max_in_flight", min: 1) ?? agent.maxInFlight
        agent.shutdownTimeoutMs = r.durationMs(map["shutdown_timeout"], "agent.shutdown_timeout") ?? agent.shutdownTimeoutMs
        agent.dataDir = r.string(map["data_dir"], "agent.data_dir") ?? agent.dataDir
        agent.maxLineBytes = r.int(map["max_line_bytes"], "agent.max_line_bytes", min: 256) ?? agent.maxLineBytes
        agent.metricsListen = r.hostPort(map["metrics_listen"], "agent.metrics_listen") ?? agent.metricsListen
        if let patterns = r.strings(map["mask_patterns"], "agent.mask_patterns") {
            for (index, pattern) in patterns.enumerated() where (try? NSRegularExpression(pattern: pattern)) == nil {
                r.problem("agent.mask_patterns[\(index)]", "not a valid regular expression: \(pattern)")
            }
            agent.maskPatterns = patterns
        }
        guard let inputs = map["inputs"] else { return }
        guard let list = inputs as? [Any] else {
            r.problem("agent.inputs", "expected a list of inputs, found \(r.describe(inputs))")
            return
        }
        agent.inputs = list.enumerated().compactMap { readInput($1, "agent.inputs[\($0)]", &r) }
    }

    static func readInput(_ node: Any?, _ path: String, _ r: inout ConfigurationReader) -> LogshipConfiguration.Input? {
        guard let map = r.mapping(node, path, known: ["service", "paths", "format", "multiline", "multiline_timeout", "fields", "start_at", "python_format",
                                                          "timezone", "future_limit", "exclude", "ignore_older", "mask_rules"]) else { return nil }
        let service = r.string(map["service"], "\(path).service")
        if map["service"] == nil { r.problem("\(path).service", "is required") }
        let paths = r.strings(map["paths"], "\(path).paths") ?? []
        if paths.isEmpty { r.problem("\(path).paths", "needs at least one file path or glob") }
        var input = LogshipConfiguration.Input(service: service ?? "", paths: paths)
        if let format = r.string(map["format"], "\(path).format") {
            if let value = LogshipConfiguration.Input.Format(rawValue: format) {
                input.format = value
            } else {
                r.problem("\(path).format", "must be one of \(LogshipConfiguration.Input.Format.allCases.map(\.rawValue).joined(separator: ", ")); found \"\(format)\"")
            }
        }
        if let multiline = map["multiline"] {
            if let preset = multiline as? String {
                if let value = LogshipConfiguration.Multiline.Preset(rawValue: preset) { input.multiline = .preset(value) }
                else { r.problem("\(path).multiline", "unknown preset \"\(preset)\" (auto, python, java, container, none, or {pattern, negate, match})") }
            } else if let custom = r.mapping(multiline, "\(path).multiline", known: ["pattern", "negate", "match"]) {
                let pattern = r.string(custom["pattern"], "\(path).multiline.pattern") ?? ""
                if (try? NSRegularExpression(pattern: pattern)) == nil || pattern.isEmpty {
                    r.problem("\(path).multiline.pattern", "not a valid regular expression: \"\(pattern)\"")
                }
                let matchName = r.string(custom["match"], "\(path).multiline.match") ?? "after"
                let match = LogshipConfiguration.Multiline.Match(rawValue: matchName) ?? .after
                if LogshipConfiguration.Multiline.Match(rawValue: matchName) == nil {
                    r.problem("\(path).multiline.match", "must be after or before")
                }
                input.multiline = .custom(pattern: pattern, negate: r.bool(custom["negate"], "\(path).multiline.negate") ?? false, match: match)
            }
        }
        input.multilineTimeoutMs = r.durationMs(map["multiline_timeout"], "\(path).multiline_timeout", minMs: 10) ?? input.multilineTimeoutMs
        input.fields = r.stringMap(map["fields"], "\(path).fields") ?? [:]
        input.pythonFormat = r.string(map["python_format"], "\(path).python_format")
        if let format = input.pythonFormat, !format.contains("%(message)") {
            r.problem("\(path).python_format", "must contain %(message)s")
        }
        if let zone = r.string(map["timezone"], "\(path).timezone") {
            if ZoneRule(named: zone) == nil {
                r.problem("\(path).timezone", "unknown time zone \"\(zone)\" (an IANA name such as Asia/Shanghai, UTC, local, or an offset such as +08:00)")
            }
            input.timezone = zone
        }
        input.futureLimitMs = r.durationMs(map["future_limit"], "\(path).future_limit", minMs: 1_000) ?? input.futureLimitMs
        input.exclude = r.strings(map["exclude"], "\(path).exclude") ?? []
        input.ignoreOlderMs = r.durationMs(map["ignore_older"], "\(path).ignore_older", minMs: 1_000)
        if let rules = r.mapping(map["mask_rules"], "\(path).mask_rules", known: ["disable", "enable", "add"]) {
            let known = MaskRule.allCases.map(\.rawValue)
            for key in ["disable", "enable"] {
                let names = r.strings(rules[key], "\(path).mask_rules.\(key)") ?? []
                for (index, name) in names.enumerated() where !known.contains(name) {
                    r.problem("\(path).mask_rules.\(key)[\(index)]", "unknown rule \"\(name)\" (built-in rules: \(known.joined(separator: ", ")))")
                }
                if key == "disable" { input.maskRules.disable = names } else { input.maskRules.enable = names }
            }
            if let list = rules["add"] {
                guard let items = list as? [Any] else {
                    r.problem("\(path).mask_rules.add", "expected a list of regexes or {name, pattern}, found \(r.describe(list))")
                    return input
                }
                for (index, item) in items.enumerated() {
                    let itemPath = "\(path).mask_rules.add[\(index)]"
                    var name = "\(itemPath)", pattern: String?
                    if let text = item as? String { pattern = text }
                    else if let entry = r.mapping(item, itemPath, known: ["name", "pattern"]) {
                        name = r.string(entry["name"], "\(itemPath).name") ?? name
                        pattern = r.string(entry["pattern"], "\(itemPath).pattern")
                        if entry["pattern"] == nil { r.problem("\(itemPath).pattern", "is required") }
                    }
                    guard let pattern else { continue }
                    if (try? NSRegularExpression(pattern: pattern)) == nil || pattern.isEmpty {
                        r.problem(itemPath, "not a valid regular expression: \(pattern)")
                    }
                    input.maskRules.add.append(.init(name: name, pattern: pattern))
                }
            }
        }
        if let start = r.string(map["start_at"], "\(path).start_at") {
            if let value = LogshipConfiguration.StartAt(rawValue: start) { input.startAt = value }
            else { r.problem("\(path).start_at", "must be beginning or end; found \"\(start)\"") }
        }
        return input
    }
}
