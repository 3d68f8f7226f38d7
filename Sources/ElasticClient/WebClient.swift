import Foundation
import Synchronization

/// Plain HTTP to any URL (webhooks, a coordinator's API), over the same libcurl session code as
/// `ElasticClient`: one reused connection, requests serialised. Any status comes back; only
/// connection failures throw.
public final class WebClient: Sendable {
    private let session: Mutex<CurlSession>

    public init(timeoutMs: Int = 10_000, connectTimeoutMs: Int = 5_000) throws {
        session = Mutex(try CurlSession(ElasticConfiguration(url: "http://unused", requestTimeoutMs: timeoutMs,
                                                             connectTimeoutMs: connectTimeoutMs)))
    }

    public func post(_ url: String, body: [UInt8], contentType: String = "application/json",
                     headers: [String] = []) throws -> ElasticResponse {
        try request("POST", url, body: body, contentType: contentType, headers: headers)
    }

    public func get(_ url: String, headers: [String] = []) throws -> ElasticResponse {
        try request("GET", url, body: nil, contentType: "application/json", headers: headers)
    }

    func request(_ method: String, _ url: String, body: [UInt8]?, contentType: String, headers: [String]) throws -> ElasticResponse {
        try session.withLock { session in
            let response = try session.perform(method: method, path: "", body: body, contentType: contentType,
                                               headers: headers, absoluteURL: url)
            return ElasticResponse(status: response.status, body: response.body)
        }
    }
}
