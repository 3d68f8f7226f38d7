import CRdKafka

/// The one error type of the Kafka client: librdkafka's code, whether trying again can help,
/// and a message that says what failed and where.
public struct KafkaError: Error, CustomStringConvertible, Sendable, Equatable {
    /// librdkafka's `rd_kafka_resp_err_t` value (negative codes are client-side, positive ones broker-side).
    public let code: Int32
    /// librdkafka's symbolic name of the code, e.g. `_TRANSPORT` or `UNKNOWN_TOPIC_OR_PART`.
    public let name: String
    public let isRetriable: Bool
    public let message: String

    public init(code: Int32, name: String, isRetriable: Bool, message: String) {
        self.code = code
        self.name = name
        self.isRetriable = isRetriable
        self.message = message
    }

    init(_ err: rd_kafka_resp_err_t, _ context: String, retriable: Bool? = nil) {
        let raw = err.rawValue
        self.code = raw
        self.name = String(cString: rd_kafka_err2name(err))
        self.isRetriable = retriable ?? KafkaError.retriableCodes.contains(raw)
        self.message = "\(context): \(String(cString: rd_kafka_err2str(err)))"
    }

    init(rdError: OpaquePointer, _ context: String) {
        let err = rd_kafka_error_code(rdError)
        self.code = err.rawValue
        self.name = String(cString: rd_kafka_err2name(err))
        self.isRetriable = rd_kafka_error_is_retriable(rdError) != 0
        self.message = "\(context): \(String(cString: rd_kafka_error_string(rdError)))"
        rd_kafka_error_destroy(rdError)
    }

    /// A client-side error raised by logship itself (bad argument, timeout), not by librdkafka.
    public static func client(_ message: String, retriable: Bool = false) -> KafkaError {
        KafkaError(code: -1, name: "LOGSHIP", isRetriable: retriable, message: message)
    }

    public var description: String { "\(message) [\(name)]" }

    /// A delivery failure that sending the same message again cannot fix (it is too large or
    /// malformed). Anything else — unknown topic, broker down — deserves another try.
    public var isPermanentForMessage: Bool {
        ["MSG_SIZE_TOO_LARGE", "INVALID_RECORD", "_INVALID_ARG", "INVALID_MSG", "RECORD_LIST_TOO_LARGE"].contains(name)
    }

    /// Codes that clear up on their own: broker transport, leader moves, timeouts, full queues.
    static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT.rawValue,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue,
        RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND.rawValue,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION.rawValue,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS.rawValue,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS.rawValue,
        // A commit that raced a rebalance: rejoin and commit again.
        RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION.rawValue,
        RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID.rawValue,
    ]
}
