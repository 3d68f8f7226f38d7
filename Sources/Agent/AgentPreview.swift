import Foundation
import LogModel
import LogshipConfig

/// Runs one input's pipeline over a file exactly as the agent would (tail, multiline, mask,
/// parse, filter, enrich, encode) without sending anything: for checking a format or a mask
/// pattern before deploying, and for measuring the pipeline's cost alone.
public enum AgentPreview {
    /// What a preview may change of the input it runs (`logship parse --format --timezone`).
    public struct Overrides: Sendable {
        public var format: String?
        public var timezone: String?
        public init(format: String? = nil, timezone: String? = nil) {
            self.format = format
            self.timezone = timezone
        }
    }

    /// Hands each event's Kafka key and JSON to `emit` and returns the counters. The input is the one named
    /// `service`, else the first whose paths match `path`, else the defaults (format `auto`, the
    /// host's zone, the file's name as service): no configuration is needed to try a file.
    /// `explain`, when given, hears of every record a masking rule changed.
    public static func run(configuration: LogshipConfiguration, service: String?, path: String, overrides: Overrides = Overrides(),
                           explain: ((Record, [SecretMasker.Match], [UInt8]) -> Void)? = nil,
                           emit: (_ key: UnsafeBufferPointer<UInt8>, _ event: UnsafeRawBufferPointer) -> Void) throws -> AgentStats.Counters {
        let inputs = configuration.agent.inputs
        var input: LogshipConfiguration.Input
        // Globs are usually absolute; FILE may be given relative to here.
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        if let service {
            guard let named = inputs.first(where: { $0.service == service }) else {
                throw AgentError("no agent input for service \(service); inputs: \(inputs.map(\.service).joined(separator: ", "))")
            }
            input = named
        } else if let matching = inputs.first(where: { input in
            input.paths.contains { Glob.matches($0, path) || Glob.matches($0, absolute) }
        }) {
            input = matching
        } else {
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            input = LogshipConfiguration.Input(service: Naming.sanitize(name.isEmpty ? "preview" : name), paths: [path])
        }
        if let format = overrides.format {
            guard let value = LogshipConfiguration.Input.Format(rawValue: format) else {
                throw AgentError("unknown format \"\(format)\" (\(LogshipConfiguration.Input.Format.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            input.format = value
        }
        if let zone = overrides.timezone {
            guard ZoneRule(named: zone) != nil else {
                throw AgentError("unknown time zone \"\(zone)\" (an IANA name such as Asia/Shanghai, UTC, local, or an offset such as +08:00)")
            }
            input.timezone = zone
        }
        let host = configuration.agent.hostName ?? LogAgent.machineHostName()
        let pipeline = try InputPipeline(input: input, host: host,
                                         allowDebug: configuration.services[input.service]?.debug ?? false,
                                         maskPatterns: configuration.agent.maskPatterns, pythonFormat: input.pythonFormat)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("logship-preview-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let registry = try Registry(directory: scratch)
        guard let tailer = FileTailer(path: path, input: pipeline, registry: registry, startAtEnd: false,
                                      maxLineBytes: configuration.agent.maxLineBytes, now: 0) else {
            throw AgentError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        let stats = AgentStats()
        let output = OutputBuffer(capacity: 4096)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var pipelineScratch = InputPipeline.Scratch()
        var shipped: Int64 = 0  // counted here and added once, as the agent adds its acknowledgements by batch
        let sink: RecordSink = { record, identity, _ in
            switch pipeline.process(record, fileIdentity: identity, filePath: path, nowMillis: now, stats: stats, into: output,
                                    scratch: &pipelineScratch, explain: explain) {
            case .drop(let reason): stats.add(reason, 1, service: pipeline.service)
            case .ship(let key): key.withUTF8 { emit($0, output.bytes) }; shipped += 1
            }
        }
        while tailer.poll(now: now, registry: registry, stats: stats, sink: sink) {}
        tailer.finish(now: now, stats: stats, sink: sink)
        stats.add(\.eventsSent, shipped, service: pipeline.service)
        return stats.snapshot
    }
}
