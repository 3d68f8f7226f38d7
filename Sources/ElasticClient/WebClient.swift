import Foundation
import Synchronization

/// Plain HTTP POSTs to any URL (webhooks), over the same libcurl session code as
/// `ElasticClient`: one reused connection, requests serialised. Any status comes back; only
/// connection failures throw.
public final class WebClient: @unchecked Sendable {
    private let session: Mutex<CurlSession>

    public init(timeoutMs: Int = 10_000) throws {
        session = Mutex(try CurlSession(ElasticConfiguration(url: "http://unused", requestTimeoutMs: timeoutMs)))
    }

    public func post(_ url: String, body: [UInt8], contentType: String = "application/json",
                     headers: [String] = []) throws -> ElasticResponse {
        try session.withLock { session in
            let response = try session.perform(method: "POST", path: "", body: body, contentType: contentType,
                                               headers: headers, absoluteURL: url)
            return ElasticResponse(status: response.status, body: response.body)
        }
    }
}
