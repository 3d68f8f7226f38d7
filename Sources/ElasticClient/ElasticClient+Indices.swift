import Foundation
import LogModel

/// One step of an atomic `_aliases` request.
public enum AliasAction: Sendable {
    case add(index: String, alias: String)
    case remove(index: String, alias: String)

    var json: JSONValue {
        switch self {
        case .add(let index, let alias): return ["add": ["index": .string(index), "alias": .string(alias)]]
        case .remove(let index, let alias): return ["remove": ["index": .string(index), "alias": .string(alias)]]
        }
    }
}

extension ElasticClient {
    public func putIndexTemplate(_ name: String, _ body: JSONValue) throws {
        try call("PUT", "/_index_template/\(name)", json: body)
    }

    public func indexTemplate(_ name: String) throws -> JSONValue? {
        let response = try requestBlocking("GET", "/_index_template/\(name)")
        if response.status == 404 { return nil }
        guard response.isSuccess else { throw Self.httpError("GET", "/_index_template/\(name)", response) }
        return try response.json()
    }

    /// Creates an index; an index that already exists is not an error.
    public func createIndex(_ name: String, _ body: JSONValue? = nil) throws {
        let payload = try body.map { Array(try JSONEncoderCache.encode($0)) }
        let response = try requestBlocking("PUT", "/\(name)", body: payload ?? Array("{}".utf8))
        if response.isSuccess { return }
        let type = (try? response.json())?[path: "error.type"]?.string
        if response.status == 400 && type == "resource_already_exists_exception" { return }
        throw Self.httpError("PUT", "/\(name)", response)
    }

    /// Deletes indices; missing ones are ignored.
    public func deleteIndex(_ name: String) throws {
        let response = try requestBlocking("DELETE", "/\(name)")
        if response.isSuccess || response.status == 404 { return }
        throw Self.httpError("DELETE", "/\(name)", response)
    }

    public func indexExists(_ name: String) throws -> Bool {
        try requestBlocking("HEAD", "/\(name)").status == 200
    }

    /// Applies every alias action in one request: readers see the old set or the new one, never a mix.
    public func updateAliases(_ actions: [AliasAction]) throws {
        try call("POST", "/_aliases", json: ["actions": .array(actions.map(\.json))])
    }

    /// Index names behind an alias (empty when the alias does not exist).
    public func indices(ofAlias alias: String) throws -> [String] {
        let response = try requestBlocking("GET", "/_alias/\(alias)")
        if response.status == 404 { return [] }
        guard response.isSuccess else { throw Self.httpError("GET", "/_alias/\(alias)", response) }
        return (try response.json().object?.keys).map { Array($0).sorted() } ?? []
    }

    public func refresh(_ index: String) throws {
        try call("POST", "/\(index)/_refresh")
    }

    public func count(_ index: String, query: JSONValue? = nil) throws -> Int {
        let body: JSONValue? = query.map { ["query": $0] }
        return try call("POST", "/\(index)/_count", json: body ?? [:])["count"]?.int ?? 0
    }

    /// Runs a search (query, aggregations, sort…) and returns Elasticsearch's answer as JSON.
    public func search(_ index: String, _ body: JSONValue) throws -> JSONValue {
        try call("POST", "/\(index)/_search", json: body)
    }
}

enum JSONEncoderCache {
    static func encode(_ value: JSONValue) throws -> [UInt8] {
        Array(try JSONEncoder().encode(value))
    }
}
