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

    /// librdkafka's levels are syslog's (0 emergency … 7 debug).
    static func level(_ syslog: Int32) -> Logger.Level {
        switch syslog {
        case ...2: return .critical
        case 3: return .error
        case 4: return .warning
        case 5: return .notice
        case 6: return .info
        default: return .debug
        }
    }

    /// Installs the callback on a configuration before the handle is made from it.
    static func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, line in
            let client = handle.map { String(cString: rd_kafka_name($0)) } ?? "librdkafka"
            KafkaLogRouting.logger.log(
                level: KafkaLogRouting.level(level),
                "\(String(cStringOrNil: line) ?? "")",
                metadata: ["kafka.client": "\(client)", "kafka.facility": "\(String(cStringOrNil: facility) ?? "")"],
                source: "librdkafka")
        }
    }
}
