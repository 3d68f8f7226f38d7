import LogshipConfig

/// Where Elasticsearch is and how to talk to it. Credentials come from config or environment.
public struct ElasticConfiguration: Sendable {
    /// Nodes to send requests to: each request starts at the next live one and fails over to
    /// the others on a connection failure.
    public var urls: [String]
    public var username: String?
    public var password: String?
    /// Elasticsearch API key (the base64 `id:key` form), sent as `Authorization: ApiKey …`.
    public var apiKey: String?
    /// Sent as `Authorization: Bearer …` (service-account tokens).
    public var bearerToken: String?
    public var tls: LogshipConfiguration.Elasticsearch.TLS
    public var requestTimeoutMs: Int
    public var connectTimeoutMs: Int

    /// The first node (for messages and single-node callers).
    public var url: String { urls[0] }

    public init(url: String, username: String? = nil, password: String? = nil, apiKey: String? = nil,
                requestTimeoutMs: Int = 30_000, connectTimeoutMs: Int = 5_000) {
        self.init(urls: [url], username: username, password: password, apiKey: apiKey,
                  requestTimeoutMs: requestTimeoutMs, connectTimeoutMs: connectTimeoutMs)
    }

    public init(urls: [String], username: String? = nil, password: String? = nil, apiKey: String? = nil,
                bearerToken: String? = nil, tls: LogshipConfiguration.Elasticsearch.TLS = .init(),
                requestTimeoutMs: Int = 30_000, connectTimeoutMs: Int = 5_000) {
        precondition(!urls.isEmpty, "at least one Elasticsearch URL")
        self.urls = urls.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.username = username
        self.password = password
        self.apiKey = apiKey
        self.bearerToken = bearerToken
        self.tls = tls
        self.requestTimeoutMs = requestTimeoutMs
        self.connectTimeoutMs = connectTimeoutMs
    }

    /// The one place a role's Elasticsearch client settings are built from logship.yml.
    public init(_ es: LogshipConfiguration.Elasticsearch, requestTimeoutMs: Int? = nil, connectTimeoutMs: Int = 5_000) {
        self.init(urls: es.urls, username: es.username, password: es.password, apiKey: es.apiKey, bearerToken: es.bearerToken,
                  tls: es.tls, requestTimeoutMs: requestTimeoutMs ?? es.timeoutMs, connectTimeoutMs: connectTimeoutMs)
    }

    /// `basic`, `api_key`, `bearer` or `none`, for `doctor` and start-up logs.
    public var authMode: String {
        apiKey != nil ? "api_key" : bearerToken != nil ? "bearer" : username != nil ? "basic" : "none"
    }

    /// The nodes as they may be logged (credentials in a URL masked).
    public var displayURLs: String { urls.map(LogshipConfiguration.redactingCredentials).joined(separator: ",") }
}
