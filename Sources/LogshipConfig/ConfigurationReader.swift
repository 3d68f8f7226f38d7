import Foundation

/// Walks the parsed YAML tree, reading typed values and recording every problem with its key
/// path instead of stopping at the first one.
struct ConfigurationReader {
    var problems: [ConfigurationProblem] = []

    mutating func problem(_ path: String, _ message: String) {
        problems.append(ConfigurationProblem(path: path, message: message))
    }

    /// A mapping node; reports keys outside `known` (with a suggestion when one is close).
    mutating func mapping(_ node: Any?, _ path: String, known: Set<String>?) -> [String: Any]? {
        guard let node else { return nil }
        guard let raw = node as? [AnyHashable: Any] else {
            problem(path, "expected a mapping (key: value), found \(describe(node))")
            return nil
        }
        var result: [String: Any] = [:]
        for (key, value) in raw {
            let name = "\(key.base)"
            if let known, !known.contains(name) {
                let hint = known.min { editDistance($0, name) < editDistance($1, name) }
                    .flatMap { editDistance($0, name) <= 2 ? " (did you mean \($0)?)" : nil } ?? ""
                problem(join(path, name), "unknown key\(hint)")
                continue
            }
            result[name] = value
        }
        return result
    }

    mutating func string(_ node: Any?, _ path: String) -> String? {
        guard let node else { return nil }
        switch node {
        case let value as String: return value
        case let value as Int: return String(value)
        case let value as Double: return String(value)
        case let value as Bool: return String(value)
        default:
            problem(path, "expected a string, found \(describe(node))")
            return nil
        }
    }

    mutating func int(_ node: Any?, _ path: String, min: Int? = nil) -> Int? {
        guard let node else { return nil }
        let value: Int?
        switch node {
        case let v as Int: value = v
        case let v as String: value = Int(v)
        default: value = nil
        }
        guard let value else {
            problem(path, "expected a whole number, found \(describe(node))")
            return nil
        }
        if let min, value < min {
            problem(path, "must be at least \(min), found \(value)")
            return nil
        }
        return value
    }

    /// A number strictly between 0 and 1 (an anomaly score).
    mutating func score(_ node: Any?, _ path: String) -> Double? {
        guard let node else { return nil }
        let value: Double?
        switch node {
        case let v as Int: value = Double(v)
        case let v as Double: value = v
        case let v as String: value = Double(v)
        default: value = nil
        }
        guard let value, value > 0, value < 1 else {
            problem(path, "expected a score between 0 and 1 (exclusive), found \(describe(node))")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Any?, _ path: String) -> Bool? {
        guard let node else { return nil }
        if let value = node as? Bool { return value }
        if let text = node as? String, let value = Bool(text.lowercased()) { return value }
        problem(path, "expected true or false, found \(describe(node))")
        return nil
    }

    mutating func strings(_ node: Any?, _ path: String) -> [String]? {
        guard let node else { return nil }
        if let single = node as? String { return [single] }
        guard let list = node as? [Any] else {
            problem(path, "expected a list of strings, found \(describe(node))")
            return nil
        }
        return list.enumerated().compactMap { string($1, "\(path)[\($0)]") }
    }

    mutating func stringMap(_ node: Any?, _ path: String) -> [String: String]? {
        guard let map = mapping(node, path, known: nil) else { return nil }
        var result: [String: String] = [:]
        for (key, value) in map { result[key] = string(value, join(path, key)) }
        return result
    }

    /// `250ms`, `5s`, `2m`, `1h`, or a bare number of milliseconds.
    mutating func durationMs(_ node: Any?, _ path: String, minMs: Int = 0) -> Int? {
        guard let node else { return nil }
        guard let ms = (node as? Int) ?? (node as? String).flatMap(DurationText.parseMilliseconds) else {
            problem(path, "expected a duration like 500ms, 5s, 2m or 1h, found \(describe(node))")
            return nil
        }
        guard ms >= minMs else {
            problem(path, "expected a duration of at least \(minMs) ms, found \(ms) ms")
            return nil
        }
        return ms
    }

    /// A secret given inline (`password`) or read from a file (`password_file`, its content
    /// without the trailing newline), not both.
    mutating func secret(_ map: [String: Any], _ key: String, in section: String) -> String? {
        let inline = string(map[key], "\(section).\(key)")
        guard let file = string(map["\(key)_file"], "\(section).\(key)_file") else { return inline }
        if inline != nil { problem("\(section).\(key)_file", "give \(key) or \(key)_file, not both") }
        guard let data = FileManager.default.contents(atPath: file) else {
            problem("\(section).\(key)_file", "cannot read \(file)")
            return nil
        }
        var value = String(decoding: data, as: UTF8.self)
        while value.last == "\n" || value.last == "\r" { value.removeLast() }
        return value
    }

    mutating func url(_ node: Any?, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), text.count > 8 else {
            problem(path, "expected an http:// or https:// URL, found \"\(text)\"")
            return nil
        }
        return text
    }

    /// `host:port` with a port in 1…65535.
    mutating func hostPort(_ node: Any?, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (1...65_535).contains(port), colon != text.startIndex else {
            problem(path, "expected host:port, found \"\(text)\"")
            return nil
        }
        return text
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func describe(_ node: Any) -> String {
        switch node {
        case is String: return "a string (\"\(node)\")"
        case is Int: return "a number (\(node))"
        case is Double: return "a number (\(node))"
        case is Bool: return "a boolean (\(node))"
        case is [Any]: return "a list"
        case is [AnyHashable: Any]: return "a mapping"
        default: return "\(node)"
        }
    }
}

public enum DurationText {
    /// `250ms`, `5s`, `2m`, `1h`, `7d`, or a bare number of milliseconds.
    public static func parseMilliseconds(_ text: String) -> Int? {
        let units: [(String, Double)] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            if let value = Double(trimmed.dropLast(suffix.count)), value >= 0 { return Int(value * factor) }
        }
        return Int(trimmed)
    }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return row[b.count]
}
