import Foundation

/// `${VAR}` references in logship.yml's strings, with Filebeat's and Docker Compose's syntax:
/// `${VAR}` (an error when unset), `${VAR:-default}` (default when unset or empty),
/// `${VAR-default}` (default when unset), `${VAR:?message}` / `${VAR?message}` (an error with
/// the message), and `$$` for a literal `$`. A `$` not followed by `{` or `$` is kept as it is,
/// so passwords with a `$` in them need no escaping unless a `{` follows.
public enum Interpolation {
    public struct Failure: Error, Equatable, Sendable {
        public var message: String
        public init(message: String) { self.message = message }
    }

    public static func expand(_ text: String, environment: [String: String]) -> Result<String, Failure> {
        guard text.contains("$") else { return .success(text) }
        var out = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let after = rest.index(after: dollar)
            if after < rest.endIndex, rest[after] == "$" {
                out += "$"
                rest = rest[rest.index(after: after)...]
                continue
            }
            guard after < rest.endIndex, rest[after] == "{" else {
                out += "$"
                rest = rest[after...]
                continue
            }
            guard let close = rest[after...].firstIndex(of: "}") else {
                return .failure(Failure(message: "unclosed ${ in \"…\(rest[dollar...].prefix(20))\""))
            }
            let body = rest[rest.index(after: after)..<close]
            switch resolve(body, environment) {
            case .success(let value): out += value
            case .failure(let failure): return .failure(failure)
            }
            rest = rest[rest.index(after: close)...]
        }
        out += rest
        return .success(out)
    }

    private static func resolve(_ body: Substring, _ environment: [String: String]) -> Result<String, Failure> {
        let name = body.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        guard !name.isEmpty, name.first.map({ !$0.isNumber }) == true else {
            return .failure(Failure(message: "${\(body)}: expected a variable name such as ${ES_PASSWORD}"))
        }
        let value = environment[String(name)]
        let op = body.dropFirst(name.count)
        func unset(_ emptyCounts: Bool) -> Bool { value == nil || (emptyCounts && value == "") }
        if op.isEmpty {
            guard let value else { return .failure(Failure(message: "${\(name)} is not set (give a default with ${\(name):-value})")) }
            return .success(value)
        }
        for (token, emptyCounts) in [(":-", true), ("-", false), (":?", true), ("?", false)] where op.hasPrefix(token) {
            let argument = String(op.dropFirst(token.count))
            if token.hasSuffix("-") { return .success(unset(emptyCounts) ? argument : value!) }
            guard !unset(emptyCounts) else {
                return .failure(Failure(message: "${\(name)}: \(argument.isEmpty ? "required and not set" : argument)"))
            }
            return .success(value!)
        }
        return .failure(Failure(message: "${\(body)}: unknown form (use ${VAR}, ${VAR:-default} or ${VAR:?message})"))
    }

    /// Expands every string of a parsed YAML tree, recording each failure with its key path.
    static func expandTree(_ node: Any?, path: String, environment: [String: String],
                           _ reader: inout ConfigurationReader) -> Any? {
        switch node {
        case let text as String:
            switch expand(text, environment: environment) {
            case .success(let value): return value
            case .failure(let failure):
                reader.problem(path.isEmpty ? "(root)" : path, failure.message)
                return text
            }
        case let map as [AnyHashable: Any]:
            var result: [AnyHashable: Any] = [:]
            for (key, value) in map {
                let child = path.isEmpty ? "\(key.base)" : "\(path).\(key.base)"
                if let expanded = expandTree(value, path: child, environment: environment, &reader) { result[key] = expanded }
            }
            return result
        case let list as [Any]:
            var result: [Any] = []
            for (index, value) in list.enumerated() {
                if let expanded = expandTree(value, path: "\(path)[\(index)]", environment: environment, &reader) { result.append(expanded) }
            }
            return result
        default:
            return node
        }
    }
}
