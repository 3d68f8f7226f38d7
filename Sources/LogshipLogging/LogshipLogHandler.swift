import Foundation
import Logging
import ServiceContextModule

/// The W3C trace context of the current task, carried in swift-service-context's task-local
/// `ServiceContext` (so it flows through `withSpan`-style instrumentation and child tasks).
public struct TraceContext: Sendable, Equatable {
    public var traceID: String
    public var spanID: String
    public var sampled: Bool

    public init(traceID: String, spanID: String, sampled: Bool = true) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    /// Parses a `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`); nil when absent or
    /// invalid (version ff, all-zero ids, extra fields after version 00).
    public init?(traceparent: String?) {
        guard let header = traceparent?.trimmingCharacters(in: .whitespaces).lowercased() else { return nil }
        let parts = header.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        func hex(_ s: String, _ count: Int) -> Bool { s.count == count && s.allSatisfy(\.isHexDigit) }
        guard parts.count >= 4, hex(parts[0], 2), hex(parts[1], 32), hex(parts[2], 16), hex(parts[3], 2),
              parts[0] != "ff", !(parts[0] == "00" && parts.count > 4),
              parts[1].contains(where: { $0 != "0" }), parts[2].contains(where: { $0 != "0" }),
              let flags = UInt8(parts[3], radix: 16) else { return nil }
        self.init(traceID: parts[1], spanID: parts[2], sampled: flags & 1 == 1)
    }

    /// A new span of this trace (what a service does with an incoming `traceparent`).
    public func child() -> TraceContext { TraceContext(traceID: traceID, spanID: Self.randomHex(8), sampled: sampled) }

    /// A new trace.
    public static func start() -> TraceContext { TraceContext(traceID: randomHex(16), spanID: randomHex(8)) }

    public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    static func randomHex(_ bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// The trace of the current task, if one was bound.
    public static var current: TraceContext? { ServiceContext.current?.logshipTrace }

    /// Runs `body` with the trace of an incoming `traceparent` (a new span of it), or a new trace.
    public static func withRequest<T>(traceparent: String?, _ body: () async throws -> T) async rethrows -> T {
        var context = ServiceContext.current ?? .topLevel
        context.logshipTrace = TraceContext(traceparent: traceparent)?.child() ?? .start()
        return try await ServiceContext.withValue(context, operation: body)
    }
}

private enum TraceContextKey: ServiceContextKey {
    typealias Value = TraceContext
    static var nameOverride: String? { "logship.trace" }
}

extension ServiceContext {
    public var logshipTrace: TraceContext? {
        get { self[TraceContextKey.self] }
        set { self[TraceContextKey.self] = newValue }
    }
}

/// A swift-log handler writing one JSON object per line with the event field names of logship:
/// `@timestamp` (UTC, ms), `log.level` (DEBUG INFO WARN ERROR CRITICAL), `log.logger` (the
/// label), `message`, `service.name`, `trace.id` / `span.id` (from `TraceContext.current`, or
/// `trace.id` / `span.id` / `trace_id` / `span_id` metadata), and the metadata as fields.
///
///     LoggingSystem.bootstrap { LogshipLogHandler(label: $0, service: "orders") }
public struct LogshipLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let service: String
    let write: @Sendable (String) -> Void

    /// `write` receives each line without its newline; by default lines go to stdout.
    public init(label: String, service: String, metadataProvider: Logger.MetadataProvider? = nil,
                write: @escaping @Sendable (String) -> Void = LogshipLogHandler.standardOutput) {
        self.label = label
        self.service = service
        self.metadataProvider = metadataProvider
        self.write = write
    }

    public static let standardOutput: @Sendable (String) -> Void = { line in
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Appends lines to a file (created when missing), for the agent to tail.
    public static func appending(to path: String) -> @Sendable (String) -> Void {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = FileHandle(forWritingAtPath: path)
        handle?.seekToEndOfFile()
        let lock = NSLock()
        return { line in
            lock.lock()
            defer { lock.unlock() }
            handle?.write(Data((line + "\n").utf8))
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit { merged.merge(explicit) { _, new in new } }
        let trace = TraceContext.current
        let traceID = trace?.traceID ?? merged.removeValue(forKey: "trace.id")?.description ?? merged.removeValue(forKey: "trace_id")?.description
        let spanID = trace?.spanID ?? merged.removeValue(forKey: "span.id")?.description ?? merged.removeValue(forKey: "span_id")?.description
        var event: [String: Any] = [
            "@timestamp": Self.timestamp(Date()),
            "log": ["level": Self.level(level), "logger": label],
            "message": message.description,
            "service": ["name": service],
        ]
        if let traceID { event["trace"] = ["id": traceID] }
        if let spanID { event["span"] = ["id": spanID] }
        for (key, value) in merged where event[key] == nil { event[key] = Self.json(value) }
        guard let data = try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        write(String(decoding: data, as: UTF8.self))
    }

    static func level(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: return "DEBUG"
        case .info, .notice: return "INFO"
        case .warning: return "WARN"
        case .error: return "ERROR"
        case .critical: return "CRITICAL"
        }
    }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c):
            if let n = c as? Int { return n }
            if let d = c as? Double { return d }
            if let b = c as? Bool { return b }
            return c.description
        case .array(let a): return a.map(json)
        case .dictionary(let d): return d.mapValues(json)
        }
    }

    static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var time = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec, Int(ms % 1000))
    }
}
