import Foundation
import LogModel
import LogshipConfig

/// Runs one input's pipeline over a file exactly as the agent would (tail, multiline, mask,
/// parse, filter, enrich, encode) without sending anything: for checking a format or a mask
/// pattern before deploying, and for measuring the pipeline's cost alone.
public enum AgentPreview {
    /// Hands each event's Kafka key and JSON to `emit` and returns the counters. The input is the one named
    /// `service`, else the first whose paths match `path`, else the first.
    public static func run(configuration: LogshipConfiguration, service: String?, path: String,
                           emit: (_ key: String, _ event: UnsafeRawBufferPointer) -> Void) throws -> AgentStats.Counters {
        let inputs = configuration.agent.inputs
        guard !inputs.isEmpty else { throw AgentError("agent.inputs is empty: there is no input to preview") }
        let input: LogshipConfiguration.Input
        if let service {
            guard let named = inputs.first(where: { $0.service == service }) else {
                throw AgentError("no agent input for service \(service); inputs: \(inputs.map(\.service).joined(separator: ", "))")
            }
            input = named
        } else {
            input = inputs.first { $0.paths.contains { Glob.matches($0, path) } } ?? inputs[0]
        }
        let host = configuration.agent.hostName ?? LogAgent.machineHostName()
        let pipeline = try InputPipeline(input: input, index: 0, host: host,
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
        let sink: RecordSink = { record, identity, _ in
            switch pipeline.process(record, fileIdentity: identity, filePath: path, nowMillis: now, stats: stats, into: output) {
            case .drop(let reason): stats.add(reason, 1, service: pipeline.service)
            case .ship(let key): emit(key, output.bytes); stats.add(\.eventsSent, 1, service: pipeline.service)
            }
        }
        while tailer.poll(now: now, registry: registry, stats: stats, sink: sink) {}
        tailer.finish(now: now, stats: stats, sink: sink)
        return stats.snapshot
    }
}
