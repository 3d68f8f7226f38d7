import Foundation

extension LogshipConfiguration {
    /// Keys whose values are secrets wherever they appear (also inside `kafka.properties`,
    /// e.g. `sasl.password`, `ssl.key.password`, `sasl.oauthbearer.client.secret`).
    static let secretWords = ["password", "secret", "token", "api_key", "apikey", "credentials", "private"]
    public static let redacted = "[REDACTED]"

    public static func isSecret(key: String) -> Bool {
        let lower = key.lowercased()
        return secretWords.contains { lower.contains($0) }
    }

    /// A URL with its `user:password@` part masked (URLs reach log lines and `config show`).
    public static func redactingCredentials(inURL url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@"),
              !url[scheme.upperBound..<at].contains("/") else { return url }
        return url[..<scheme.upperBound] + redacted + url[at...]
    }

    /// The effective configuration (file, `${VAR}` references, `*_file` secrets, environment
    /// overrides and defaults) as a JSON tree with every secret replaced by `[REDACTED]`. Keys
    /// are the configuration's own names in snake case; durations are in milliseconds (`_ms`).
    public func redactedTree() throws -> Any {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let tree = try JSONSerialization.jsonObject(with: try encoder.encode(self))
        return Self.redact(tree, key: "")
    }

    static func redact(_ node: Any, key: String) -> Any {
        switch node {
        case let map as [String: Any]:
            return Dictionary(uniqueKeysWithValues: map.map { ($0.key, redact($0.value, key: $0.key)) })
        case let list as [Any]:
            return list.map { redact($0, key: key) }
        case let text as String:
            if isSecret(key: key) { return redacted }
            return redactingCredentials(inURL: text)
        default:
            return isSecret(key: key) && !(node is NSNull) ? redacted : node
        }
    }
}
