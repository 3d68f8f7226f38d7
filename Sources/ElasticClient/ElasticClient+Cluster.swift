import LogModel

/// What `GET /` and `_cluster/health` say.
public struct ElasticClusterInfo: Sendable {
    public var version: String
    public var distribution: String
    public var clusterName: String
}

extension ElasticClient {
    public func info() throws -> ElasticClusterInfo {
        let json = try call("GET", "/")
        return ElasticClusterInfo(
            version: json[path: "version.number"]?.string ?? "unknown",
            distribution: json[path: "version.distribution"]?.string ?? "elasticsearch",
            clusterName: json["cluster_name"]?.string ?? "unknown")
    }

    /// `green`, `yellow` or `red`.
    public func health() throws -> String {
        try call("GET", "/_cluster/health")["status"]?.string ?? "unknown"
    }

    /// True when the cluster answers the ILM API (Elasticsearch with ILM; not OpenSearch or noida-db).
    public func supportsILM() -> Bool {
        (try? requestBlocking("GET", "/_ilm/status").isSuccess) ?? false
    }
}
