import Foundation

/// One document of a bulk request, already serialised. Written with `create`, so a document
/// that is already there answers 409 instead of being overwritten.
public struct BulkItem: Sendable {
    public var index: String
    public var id: String?
    public var document: [UInt8]

    public init(index: String, id: String?, document: [UInt8]) {
        self.index = index
        self.id = id
        self.document = document
    }
}

/// What became of one bulk item.
public enum BulkOutcome: Sendable, Equatable {
    /// Written now (201, or 200 for an index op).
    case created
    /// 409 on `create`: the same id is already indexed. Counts as success.
    case alreadyExists
    /// 429, 5xx: send it again later.
    case retriable(status: Int, reason: String)
    /// Any other 4xx (mapping conflict, bad document): dead-letter it, do not retry.
    case rejected(status: Int, type: String, reason: String)

    public var isDone: Bool { self == .created || self == .alreadyExists }

    /// The pure classification rule: every caller agrees on what a status means.
    public static func classify(status: Int, errorType: String?, reason: String?) -> BulkOutcome {
        switch status {
        case 200, 201: return .created
        case 409: return .alreadyExists
        case let s where RetryPolicy.isRetriable(status: s):
            return .retriable(status: s, reason: reason ?? errorType ?? "HTTP \(s)")
        default:
            return .rejected(status: status, type: errorType ?? "unknown", reason: reason ?? "HTTP \(status)")
        }
    }
}

public struct BulkItemResult: Sendable, Equatable {
    public var index: String
    public var id: String?
    public var outcome: BulkOutcome
}

public enum Bulk {
    /// NDJSON body: an action line and a source line per item, each ending in a newline.
    public static func body(_ items: [BulkItem]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(items.reduce(0) { $0 + $1.document.count + 96 })
        for item in items {
            out.append(contentsOf: Array(#"{"create":{"_index":"#.utf8))
            appendJSONString(item.index, to: &out)
            if let id = item.id {
                out.append(contentsOf: Array(#","_id":"#.utf8))
                appendJSONString(id, to: &out)
            }
            out.append(contentsOf: Array("}}\n".utf8))
            out.append(contentsOf: item.document)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Reads a `_bulk` answer into one classified result per item, in request order.
    public static func parseResponse(_ body: [UInt8]) throws -> [BulkItemResult] {
        struct Response: Decodable {
            struct Item: Decodable {
                struct Failure: Decodable {
                    var type: String?
                    var reason: String?
                }
                var _index: String?
                var _id: String?
                var status: Int
                var error: Failure?
            }
            var items: [[String: Item]]
        }
        let response: Response
        do {
            response = try JSONDecoder().decode(Response.self, from: Data(body))
        } catch {
            throw ElasticError(kind: .decoding, code: 0,
                               message: "cannot read _bulk response: \(error) — \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        return response.items.map { entry in
            let item = entry.values.first
            return BulkItemResult(
                index: item?._index ?? "", id: item?._id,
                outcome: BulkOutcome.classify(status: item?.status ?? 0, errorType: item?.error?.type,
                                              reason: item?.error?.reason))
        }
    }

    private static func appendJSONString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0..<0x20: out.append(contentsOf: Array(String(format: "\\u%04x", byte).utf8))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension ElasticClient {
    /// Sends one `_bulk` request. Whole-request failures throw (retriable per `isRetriable`);
    /// per-item results come back classified, in the order of `items`.
    /// `refresh`: Elasticsearch refreshes the shards written before answering, so the documents
    /// are searchable at once (`?refresh=true`; costly when done for every bulk of a busy index).
    public func bulk(_ items: [BulkItem], refresh: Bool = false) throws -> [BulkItemResult] {
        guard !items.isEmpty else { return [] }
        let response = try requestBlocking("POST", refresh ? "/_bulk?refresh=true" : "/_bulk", body: Bulk.body(items), contentType: "application/x-ndjson")
        guard response.isSuccess else { throw Self.httpError("POST", "/_bulk", response) }
        let results = try Bulk.parseResponse(response.body)
        guard results.count == items.count else {
            throw ElasticError(kind: .decoding, code: response.status,
                               message: "_bulk answered \(results.count) items for \(items.count) sent")
        }
        return results
    }
}
