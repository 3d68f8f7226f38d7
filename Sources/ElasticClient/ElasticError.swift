/// The one error type of the Elasticsearch client.
public struct ElasticError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// No HTTP answer: refused, reset, timed out, DNS.
        case connection
        /// An HTTP answer with a non-success status.
        case http
        /// An answer that is not the JSON expected.
        case decoding
        /// The server's certificate (or ours) was refused: a configuration problem.
        case tls
    }

    public let kind: Kind
    /// The HTTP status, or libcurl's CURLcode for connection errors.
    public let code: Int
    public let message: String

    public init(kind: Kind, code: Int, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// Connection failures, 429 and 5xx clear up on their own; other 4xx do not.
    public var isRetriable: Bool {
        switch kind {
        case .connection: return true
        case .http: return RetryPolicy.isRetriable(status: code)
        case .decoding, .tls: return false
        }
    }

    public var description: String { message }
}

/// Which failures are worth trying again, and how long to wait: one pure rule for every caller.
public enum RetryPolicy {
    public static func isRetriable(status: Int) -> Bool {
        status == 429 || (500...599).contains(status)
    }

    /// Capped exponential backoff with full jitter; `random` is in 0..<1 (injected for tests).
    public static func backoffMs(attempt: Int, baseMs: Int = 100, capMs: Int = 30_000, random: Double) -> Int {
        let exponent = min(max(attempt, 0), 20)
        let ceiling = min(capMs, baseMs << exponent)
        return Int(Double(ceiling) * min(max(random, 0), 0.999_999))
    }
}
