import CRdKafka
import Logging
import Synchronization

/// librdkafka's own log lines (connection failures, broker state) go through swift-log, not
/// raw to stderr (`%3|1796148280.622|FAIL|…`): every handle gets a `log_cb` that passes each
/// line to the logger routed here, at the mapped level, with the client's name and the
/// librdkafka facility as metadata. Until a command routes a logger, lines go to standard
/// error through swift-log's stream handler at `info`.
public enum KafkaLogRouting {
    private static let routed = Mutex<Logger?>(nil)

    /// Sends librdkafka's lines to `logger` (its handler and level apply) from now on.
    public static func route(to logger: Logger) {
        routed.withLock { $0 = logger }
    }

    static var logger: Logger {
        routed.withLock { $0 } ?? Logger(label: "librdkafka") { StreamLogHandler.standardError(label: $0) }
    }

    /// librdkafka's levels are syslog's (0 emergency … 7 debug). A broker connection failure
    /// (facility FAIL, logged at 3) is something librdkafka retries by itself and the roles ride
    /// out (the agent pauses reading, the indexer waits): a warning, not an error.
    static func level(_ syslog: Int32, facility: String = "") -> Logger.Level {
        if facility == "FAIL" && syslog >= 3 { return .warning }
        switch syslog {
        case ...2: return .critical
        case 3: return .error
        case 4: return .warning
        case 5: return .notice
        case 6: return .info
        default: return .debug
        }
    }

    /// Installs the callbacks on a configuration before the handle is made from it. librdkafka's
    /// error events (all brokers down, a connection refused) reach the roles as failed calls and
    /// delivery reports too, and librdkafka retries them itself: they are warnings here, and only
    /// a fatal error (the client cannot go on) is an error.
    static func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_error_cb(conf) { handle, code, reason, _ in
            let client = handle.map { String(cString: rd_kafka_name($0)) } ?? "librdkafka"
            let error = rd_kafka_resp_err_t(code)
            let fatal = error == RD_KAFKA_RESP_ERR__FATAL
            KafkaLogRouting.logger.log(
                level: fatal ? .error : .warning,
                "\(String(cStringOrNil: reason) ?? String(cString: rd_kafka_err2str(error)))",
                metadata: ["kafka.client": "\(client)", "kafka.facility": "ERROR",
                           "kafka.error": "\(String(cString: rd_kafka_err2name(error)))"],
                source: "librdkafka")
        }
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, line in
            let client = handle.map { String(cString: rd_kafka_name($0)) } ?? "librdkafka"
            let facility = String(cStringOrNil: facility) ?? ""
            KafkaLogRouting.logger.log(
                level: KafkaLogRouting.level(level, facility: facility),
                "\(String(cStringOrNil: line) ?? "")",
                metadata: ["kafka.client": "\(client)", "kafka.facility": "\(facility)"],
                source: "librdkafka")
        }
    }
}
