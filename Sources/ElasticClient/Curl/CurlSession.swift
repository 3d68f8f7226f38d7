import CCurl
import Foundation
import LogshipConfig

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

    /// Round-robin start and nodes seen unreachable recently (skipped while others answer).
    private var nextNode = 0
    private var downUntil: [Int: ContinuousClock.Instant] = [:]

    /// Certificate problems: a restart cannot fix them, so they are not retried.
    static let tlsCodes: Set<UInt32> = [58, 59, 60, 77, 82, 83, 90]

    /// `path` is appended to a node's base URL: requests start at the next live node in turn
    /// and fail over to the others when one cannot be reached. `absoluteURL` sends to that URL only.
    func perform(method: String, path: String, body: [UInt8]?, contentType: String,
                 headers extraHeaders: [String] = [], absoluteURL: String? = nil) throws -> Response {
        if let absoluteURL {
            return try attempt(url: absoluteURL, method: method, body: body, contentType: contentType, extraHeaders: extraHeaders,
                               describe: { "\(absoluteURL) unreachable: \(method): \($0)" })
        }
        let nodes = configuration.urls
        let now = ContinuousClock.now
        let start = nextNode % nodes.count
        nextNode = (start + 1) % nodes.count
        let order = (0..<nodes.count).map { (start + $0) % nodes.count }
        // Live nodes first, then the ones that failed lately (all may be back by now).
        let live = order.filter { (downUntil[$0] ?? now) <= now }
        var failures: [String] = []
        for index in live + order.filter({ !live.contains($0) }) {
            let base = nodes[index]
            do {
                let response = try attempt(url: base + (path.hasPrefix("/") ? path : "/" + path), method: method, body: body,
                                           contentType: contentType, extraHeaders: extraHeaders,
                                           describe: { "Elasticsearch at \(LogshipConfiguration.redactingCredentials(inURL: base)) unreachable: \(method) \(path): \($0)" })
                downUntil.removeValue(forKey: index)
                return response
            } catch let error as ElasticError where error.kind == .connection {
                downUntil[index] = ContinuousClock.now + .seconds(10)
                failures.append(error.message)
                if nodes.count == 1 { throw error }
            }
        }
        throw ElasticError(kind: .connection, code: -1, message: "no Elasticsearch node answered: " + failures.joined(separator: "; "))
    }

    private func attempt(url: String, method: String, body: [UInt8]?, contentType: String, extraHeaders: [String],
                         describe: (String) -> String) throws -> Response {
        curl_easy_reset(handle)
        _ = logship_curl_set_string(handle, CURLOPT_URL, url)
        _ = logship_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = logship_curl_set_long(handle, CURLOPT_TIMEOUT_MS, configuration.requestTimeoutMs)
        _ = logship_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, configuration.connectTimeoutMs)
        _ = logship_curl_set_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        _ = logship_curl_set_string(handle, CURLOPT_ACCEPT_ENCODING, "")
        let tls = configuration.tls
        if let caFile = tls.caFile { _ = logship_curl_set_string(handle, CURLOPT_CAINFO, caFile) }
        if let certFile = tls.certFile { _ = logship_curl_set_string(handle, CURLOPT_SSLCERT, certFile) }
        if let keyFile = tls.keyFile { _ = logship_curl_set_string(handle, CURLOPT_SSLKEY, keyFile) }
        if !tls.verify {
            _ = logship_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 0)
            _ = logship_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let username = configuration.username {
            _ = logship_curl_set_string(handle, CURLOPT_USERPWD, "\(username):\(configuration.password ?? "")")
        }
        var headers: UnsafeMutablePointer<curl_slist>? = nil
        headers = curl_slist_append(headers, "Content-Type: \(contentType)")
        // An empty Expect: stops libcurl waiting for `100 Continue` on bodies over 1 MiB.
        headers = curl_slist_append(headers, "Expect:")
        if let apiKey = configuration.apiKey {
            headers = curl_slist_append(headers, "Authorization: ApiKey \(apiKey)")
        } else if let token = configuration.bearerToken {
            headers = curl_slist_append(headers, "Authorization: Bearer \(token)")
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
            if Self.tlsCodes.contains(code.rawValue) {
                throw ElasticError(kind: .tls, code: Int(code.rawValue),
                                   message: describe("TLS: \(reason)") + " (check elasticsearch.tls.ca_file, or tls.verify)")
            }
            throw ElasticError(kind: .connection, code: Int(code.rawValue), message: describe(reason))
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
