/// Where Elasticsearch is and how to talk to it. Credentials come from config or environment.
public struct ElasticConfiguration: Sendable {
    public var url: String
    public var username: String?
    public var password: String?
    /// Elasticsearch API key (the base64 `id:key` form), sent as `Authorization: ApiKey …`.
    public var apiKey: String?
    public var requestTimeoutMs: Int
    public var connectTimeoutMs: Int

    public init(url: String, username: String? = nil, password: String? = nil, apiKey: String? = nil,
                requestTimeoutMs: Int = 30_000, connectTimeoutMs: Int = 5_000) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.username = username
        self.password = password
        self.apiKey = apiKey
        self.requestTimeoutMs = requestTimeoutMs
        self.connectTimeoutMs = connectTimeoutMs
    }
}
