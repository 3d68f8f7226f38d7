import Foundation

/// Finds the request facts services put in plain messages: `trace_id=`, `span_id=`,
/// `traceparent=`, `status=`, `duration_ms=`, `GET /path`. A scan over the bytes, no regex.
public struct ExtractedFields: Equatable, Sendable {
    public var traceID: String?
    public var spanID: String?
    public var httpStatus: Int?
    public var durationNs: Int64?
    public var httpMethod: String?
    public var urlPath: String?
}

public enum FieldExtraction {
    static let methods: Set<String> = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

    public static func scan(_ message: String) -> ExtractedFields {
        var fields = ExtractedFields()
        var previousWord: Substring?
        for word in message.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) {
            if let method = previousWord, word.hasPrefix("/"), methods.contains(String(method)) {
                fields.httpMethod = String(method)
                fields.urlPath = String(word.prefix { $0 != "?" })
            } else if let eq = word.firstIndex(of: "=") {
                let key = word[..<eq].lowercased()
                var value = word[word.index(after: eq)...]
                if value.hasPrefix("\"") || value.hasPrefix("'") { value = value.dropFirst() }
                if value.hasSuffix("\"") || value.hasSuffix("'") { value = value.dropLast() }
                apply(key: key, value: value, to: &fields)
            }
            previousWord = word
        }
        return fields
    }

    static func apply(key: String, value: Substring, to fields: inout ExtractedFields) {
        switch key {
        case "trace_id", "traceid", "trace.id", "trace", "otelTraceID".lowercased():
            if isHex(value, count: 32) { fields.traceID = value.lowercased() }
        case "span_id", "spanid", "span.id", "otelSpanID".lowercased():
            if isHex(value, count: 16) { fields.spanID = value.lowercased() }
        case "traceparent":
            let parts = value.split(separator: "-")
            if parts.count == 4, isHex(parts[1], count: 32), isHex(parts[2], count: 16) {
                fields.traceID = parts[1].lowercased()
                fields.spanID = parts[2].lowercased()
            }
        case "status", "status_code", "http_status", "http.status_code", "code":
            if let status = Int(value), (100...599).contains(status) { fields.httpStatus = status }
        case "duration_ms", "elapsed_ms", "latency_ms", "took_ms", "time_ms":
            if let ms = Double(value) { fields.durationNs = Int64(ms * 1_000_000) }
        case "duration", "elapsed", "latency", "took":
            fields.durationNs = parseDuration(value) ?? fields.durationNs
        case "method", "http_method":
            if methods.contains(value.uppercased()) { fields.httpMethod = value.uppercased() }
        case "path", "url", "url.path", "route":
            if value.hasPrefix("/") { fields.urlPath = String(value.prefix { $0 != "?" }) }
        default: break
        }
    }

    /// `12ms`, `1.5s`, `250us`, `3m`; a bare number is taken as seconds.
    static func parseDuration(_ text: Substring) -> Int64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1e9), ("m", 6e10)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)) { return Int64(value * factor) }
        }
        return Double(text).map { Int64($0 * 1e9) }
    }

    static func isHex(_ text: some StringProtocol, count: Int) -> Bool {
        text.utf8.count == count && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
            && !text.utf8.allSatisfy { $0 == 48 }
    }
}

/// A Python traceback inside a record: the message is the first line, the stack trace the rest,
/// and the exception type and message come from the last `Type: message` line.
public enum Traceback {
    public static func split(_ record: String) -> (message: String, stackTrace: String?, errorType: String?, errorMessage: String?) {
        guard let newline = record.firstIndex(of: "\n") else { return (record, nil, nil, nil) }
        let message = String(record[..<newline])
        let rest = String(record[record.index(after: newline)...])
        let (type, text) = exception(in: rest)
        return (message, rest, type, text)
    }

    /// The final exception of a stack trace: the last non-indented `Name: message` line.
    public static func exception(in stackTrace: String) -> (String?, String?) {
        for line in stackTrace.split(separator: "\n").reversed() {
            guard let first = line.first, first != " ", first != "\t", !line.hasPrefix("Traceback") else { continue }
            if line.hasPrefix("During handling") || line.hasPrefix("The above exception") { continue }
            if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon]
                if !name.isEmpty, !name.contains(" ") {
                    return (String(name), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
            } else if !line.contains(" ") {
                return (String(line), nil)
            }
        }
        return (nil, nil)
    }
}
