import Foundation
import LogModel
import Synchronization

/// An HTTP answer from Elasticsearch.
public struct ElasticResponse: Sendable {
    public var status: Int
    public var body: [UInt8]

    public var isSuccess: Bool { (200...299).contains(status) }

    public func json() throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw ElasticError(kind: .decoding, code: status,
                               message: "Elasticsearch answered \(status) with something that is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
    }
}

/// Elasticsearch over libcurl: one reused connection, requests serialised and run on a dedicated
/// executor. The blocking forms are for callers on their own threads; the async ones for tasks.
public final class ElasticClient: Sendable {
    public let configuration: ElasticConfiguration
    private let session: Mutex<CurlSession>
    private let queue = DispatchQueue(label: "logship.elastic")

    public init(_ configuration: ElasticConfiguration) throws {
        self.configuration = configuration
        session = Mutex(try CurlSession(configuration))
    }

    /// Sends one request; any HTTP status comes back (it is the caller's to judge), connection
    /// failures throw.
    public func requestBlocking(_ method: String, _ path: String, body: [UInt8]? = nil,
                                contentType: String = "application/json") throws -> ElasticResponse {
        try session.withLock { session in
            let response = try session.perform(method: method, path: path, body: body, contentType: contentType)
            return ElasticResponse(status: response.status, body: response.body)
        }
    }

    public func request(_ method: String, _ path: String, body: [UInt8]? = nil,
                        contentType: String = "application/json") async throws -> ElasticResponse {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try self.requestBlocking(method, path, body: body, contentType: contentType) })
            }
        }
    }

    /// Sends a request and returns its JSON, throwing on any non-2xx answer.
    @discardableResult
    public func call(_ method: String, _ path: String, json body: JSONValue? = nil) throws -> JSONValue {
        let payload = try body.map { Array(try JSONEncoder().encode($0)) }
        let response = try requestBlocking(method, path, body: payload)
        guard response.isSuccess else { throw Self.httpError(method, path, response) }
        return response.body.isEmpty ? .null : try response.json()
    }

    static func httpError(_ method: String, _ path: String, _ response: ElasticResponse) -> ElasticError {
        let json = try? response.json()
        let reason = json?[path: "error.reason"]?.string ?? json?["error"]?.string
            ?? String(decoding: response.body.prefix(300), as: UTF8.self)
        return ElasticError(kind: .http, code: response.status, message: "\(method) \(path) → \(response.status): \(reason)")
    }
}
