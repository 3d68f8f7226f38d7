import CCurl
import Foundation

/// One libcurl easy handle, reused so connections stay open between requests. Not thread-safe:
/// `ElasticClient` serialises access and runs it on its own executor.
final class CurlSession {
    private let handle: UnsafeMutableRawPointer
    private let configuration: ElasticConfiguration

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    init(_ configuration: ElasticConfiguration) throws {
        _ = Self.globalInit
        guard let handle = curl_easy_init() else {
            throw ElasticError(kind: .connection, code: -1, message: "libcurl could not create a handle")
        }
        self.handle = handle
        self.configuration = configuration
    }

    deinit { curl_easy_cleanup(handle) }

    struct Response {
        var status: Int
        var body: [UInt8]
    }

    /// `path` is appended to the configured base URL, unless `absoluteURL` is given.
    func perform(method: String, path: String, body: [UInt8]?, contentType: String,
                 headers extraHeaders: [String] = [], absoluteURL: String? = nil) throws -> Response {
        curl_easy_reset(handle)
        let url = absoluteURL ?? configuration.url + (path.hasPrefix("/") ? path : "/" + path)
        _ = logship_curl_set_string(handle, CURLOPT_URL, url)
        _ = logship_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = logship_curl_set_long(handle, CURLOPT_TIMEOUT_MS, configuration.requestTimeoutMs)
        _ = logship_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeoutMs)
        _ = logship_curl_set_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        _ = logship_curl_set_string(handle, CURLOPT_ACCEPT_ENCODING, "")
        if let username = configuration.username {
            _ = logship_curl_set_string(handle, CURLOPT_USERPWD, "\(username):\(configuration.password ?? "")")
        }
        var headers: UnsafeMutablePointer<curl_slist>? = nil
        headers = curl_slist_append(headers, "Content-Type: \(contentType)")
        // An empty Expect: stops libcurl waiting for `100 Continue` on bodies over 1 MiB.
        headers = curl_slist_append(headers, "Expect:")
        if let apiKey = configuration.apiKey {
            headers = curl_slist_append(headers, "Authorization: ApiKey \(apiKey)")
        }
        for header in extraHeaders { headers = curl_slist_append(headers, header) }
        defer { curl_slist_free_all(headers) }
        _ = logship_curl_set_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers))

        switch method {
        case "GET" where body == nil: _ = logship_curl_set_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD": _ = logship_curl_set_long(handle, CURLOPT_NOBODY, 1)
        default: _ = logship_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method)
        }

        let sink = ResponseSink()
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        _ = logship_curl_set_write(handle, curlWrite)
        _ = logship_curl_set_pointer(handle, CURLOPT_WRITEDATA, sinkPointer)

        let code: CURLcode = withExtendedLifetime(sink) {
            if method != "GET" && method != "HEAD" || body != nil {
                // A one-byte buffer keeps POSTFIELDS non-null for empty bodies (null would read stdin).
                let payload = body.flatMap { $0.isEmpty ? nil : $0 } ?? [0]
                return payload.withUnsafeBytes { bytes in
                    _ = logship_curl_set_long(handle, CURLOPT_POSTFIELDSIZE, body?.count ?? 0)
                    _ = logship_curl_set_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress!))
                    return curl_easy_perform(handle)
                }
            }
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let reason = String(cString: curl_easy_strerror(code))
            throw ElasticError(kind: .connection, code: Int(code.rawValue),
                               message: absoluteURL.map { "\($0) unreachable: \(method): \(reason)" }
                                   ?? "Elasticsearch at \(configuration.url) unreachable: \(method) \(path): \(reason)")
        }
        var status = 0
        _ = logship_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: sink.bytes)
    }
}

private final class ResponseSink {
    var bytes: [UInt8] = []
}

private func curlWrite(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                       _ context: UnsafeMutableRawPointer?) -> Int {
    guard let data, let context else { return 0 }
    let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    data.withMemoryRebound(to: UInt8.self, capacity: length) {
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
    }
    return length
}
