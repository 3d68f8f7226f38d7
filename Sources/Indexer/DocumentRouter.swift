import Foundation
import LogModel

/// Where a Kafka record goes in Elasticsearch, or why it cannot go there. Pure: no I/O.
public enum DocumentRouter {
    public struct Routed: Sendable, Equatable {
        public var index: String
        public var id: String
        public var service: String
    }

    public enum Rejection: Error, Sendable, Equatable {
        /// The record is not for the indexer (the DLQ itself, a non-`logs.` topic).
        case notALogTopic
        /// A dead letter: the class and the reason, for the DLQ headers.
        case deadLetter(errorClass: String, reason: String)
    }

    /// Routes one record: index `logs-<service>-<yyyy.MM.dd>` from its `@timestamp` (UTC),
    /// `_id` = `event.id` when it is 32 hex characters, else a hash of (topic, partition, offset).
    public static func route(topic: String, partition: Int32, offset: Int64, value: [UInt8]) -> Result<Routed, Rejection> {
        guard let service = Naming.service(ofTopic: topic) else { return .failure(.notALogTopic) }
        // One pass over the bytes validates the JSON and finds both fields; only a value that is
        // not a plain string (escapes, a number) takes the slow general parser.
        guard let routing = EventRouting.scan(value) else {
            return .failure(.deadLetter(errorClass: "undecodable", reason: "not a JSON object"))
        }
        var timestampText: String?, eventID: String?
        if routing.timestamp == .other || routing.eventID == .other {
            let object = (try? JSONSerialization.jsonObject(with: Data(value))) as? [String: Any] ?? [:]
            timestampText = object["@timestamp"] as? String
            eventID = (object["event"] as? [String: Any])?["id"] as? String ?? object["event.id"] as? String
        } else {
            if case .string(let text) = routing.timestamp { timestampText = text }
            if case .string(let text) = routing.eventID { eventID = text }
        }
        guard let timestampText, let normal = Timestamps.normalise(timestampText),
              let (year, month, day) = Timestamps.utcDate(of: normal) else {
            return .failure(.deadLetter(errorClass: "unusable", reason: "missing or invalid @timestamp"))
        }
        let id: String
        if let eventID, eventID.utf8.count == 32, eventID.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) {
            id = eventID
        } else {
            id = EventID.make(topic: topic, partition: partition, offset: offset)
        }
        return .success(Routed(index: Naming.index(service: service, year: year, month: month, day: day), id: id, service: service))
    }
}
