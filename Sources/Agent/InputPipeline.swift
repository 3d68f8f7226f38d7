import LogshipConfig
import Foundation
import LogModel
import KafkaClient

/// Everything the agent does to a record of one input between the file and Kafka:
/// parse, mask, filter by level, enrich, identify, encode.
final class InputPipeline: Sendable {
    let service: String
    let topic: String
    let patterns: [String]
    let startAtEnd: Bool
    let parser: RecordParser
    let masker: SecretMasker
    let allowDebug: Bool
    let exclude: [String]
    let ignoreOlderMs: Int?
    let futureLimitMs: Int64
    /// What the pipeline was built from: a reload keeps a pipeline whose source is unchanged.
    let source: Source
    let host: String
    /// Delivery reports counted by librdkafka's thread, moved into the stats by the agent's loop.
    let counts = DeliveryCounts()

    struct Source: Equatable {
        var input: LogshipConfiguration.Input
        var allowDebug: Bool
        var maskPatterns: [String]
        var pythonFormat: String?
    }
    private let rule: MultilineRule
    /// Told of every record a rule masked (`logship parse --explain`): the record, the matches, the masked bytes.
    typealias Explain = (Record, [SecretMasker.Match], [UInt8]) -> Void

    /// What the thread processing a pipeline's records keeps between them (the agent's shipping
    /// thread owns one per pipeline): the facts of the file last seen, the clock's future bound.
    /// Owned by the caller, so the pipeline itself is immutable and shared.
    struct Scratch {
        /// The id hash state of the file last seen.
        var idPrefix: EventID.Prefix?
        /// The Kafka key of events without a trace id, for the file last seen.
        var fileKey = ""
        /// Kubernetes metadata of the file last seen (from its path under /var/log/containers or /var/log/pods).
        var kubernetes: SourceFacts?
        /// Tested per record instead of `kubernetes` itself (reading the optional copies the struct).
        var hasKubernetes = false
        /// `@timestamp` texts beyond this (RFC 3339 UTC compares as text) are in the future; with the clock it was made for.
        var futureBound: InlineText = ""
        var futureBoundAt: Int64 = .min
        /// The encoded service/host and file objects of this input's events (copied whole).
        var runs = EncodedRuns()
        /// The last second of a Python `logging` time read, worked out once for its lines.
        var seconds = PythonSecondCache()

        init() {}
    }

    init(input: LogshipConfiguration.Input, host: String, allowDebug: Bool, maskPatterns: [String],
         pythonFormat: String?) throws {
        source = Source(input: input, allowDebug: allowDebug, maskPatterns: maskPatterns, pythonFormat: pythonFormat)
        service = Naming.sanitize(input.service)
        topic = Naming.topic(forService: input.service)
        patterns = input.paths
        startAtEnd = input.startAt == .end
        self.host = host
        self.allowDebug = allowDebug
        exclude = input.exclude
        ignoreOlderMs = input.ignoreOlderMs
        futureLimitMs = Int64(input.futureLimitMs)
        masker = try SecretMasker(customPatterns: maskPatterns, disable: input.maskRules.disable, enable: input.maskRules.enable,
                                  namedPatterns: input.maskRules.add.map { ($0.name, $0.pattern) })
        let format = RecordParser.Format(rawValue: input.format.rawValue) ?? .auto
        guard let zone = ZoneRule(named: input.timezone) else { throw AgentError("unknown time zone \"\(input.timezone)\" for \(input.service)") }
        parser = RecordParser(service: service, host: host, format: format,
                              pythonFormat: PythonLogFormat(pythonFormat ?? PythonLogFormat.standard),
                              staticFields: input.fields, zone: zone)
        switch input.multiline {
        case .preset(.auto):
            switch format {
            case .json, .logfmt, .nginx, .apache: rule = .none
            case .cri, .docker: rule = .container
            case .java: rule = .java
            default: rule = .python
            }
        case .preset(.python): rule = format == .json ? .none : .python
        case .preset(.java): rule = .java
        case .preset(.container): rule = .container
        case .preset(.none): rule = .none
        case .custom(let pattern, let negate, let match):
            rule = .custom(pattern: try NSRegularExpression(pattern: pattern), negate: negate, before: match == .before)
        }
    }

    func makeAggregator() -> MultilineAggregator {
        MultilineAggregator(rule: rule, timeoutMs: Int64(source.input.multilineTimeoutMs))
    }

    enum Outcome {
        /// The event is in the caller's buffer; `key` is its Kafka key.
        case ship(key: Key)
        case drop(reason: WritableKeyPath<AgentStats.Counters, Int64>)

        /// A shipped event's Kafka key: its trace id, or, without one, its file's `host|identity`.
        enum Key {
            case trace(InlineText)
            case file(String)

            func withUTF8<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
                switch self {
                case .trace(let id): return id.withUTF8(body)
                case .file(var key): return key.withUTF8(body)
                }
            }
        }
    }

    /// `process` with a scratch of its own, for one-off records (tests).
    func process(_ record: Record, fileIdentity: String, filePath: String, nowMillis: Int64, stats: AgentStats,
                 into output: OutputBuffer) -> Outcome {
        var scratch = Scratch()
        return process(record, fileIdentity: fileIdentity, filePath: filePath, nowMillis: nowMillis, stats: stats,
                       into: output, scratch: &scratch)
    }

    /// Masks, parses, filters and enriches one record, and encodes the event into `output`
    /// (reused between calls: the agent ships from it). Masking runs on the raw record, before
    /// parsing, so a secret is caught wherever it sits — here, or, with `masked` (the count of
    /// secrets it replaced), already done by the caller (the agent's reading thread).
    func process(_ record: Record, masked alreadyMasked: Int? = nil, fileIdentity: String, filePath: String, nowMillis: Int64,
                 stats: AgentStats, into output: OutputBuffer, scratch: inout Scratch, explain: Explain? = nil) -> Outcome {
        let explaining = explain != nil
        if record.bytes.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }) { return .drop(reason: \.droppedEmpty) }
        var matches: [SecretMasker.Match]? = explaining ? [] : nil
        let (bytes, masked) = alreadyMasked.map { (record.bytes, $0) } ?? masker.mask(bytes: record.bytes, explain: &matches)
        if explaining, let explain, let matches, !matches.isEmpty { explain(record, matches, bytes) }
        // The usual record, one Python `logging` line, is encoded from its bytes directly.
        var seconds = scratch.seconds  // (`scratch` goes to `finish` meanwhile)
        let fast = bytes.withUnsafeBufferPointer { line -> Outcome? in
            guard parser.mayBePythonLine(line) else { return nil }
            return parser.withPythonView(line, nowMillis: nowMillis, seconds: &seconds) { view in
                finish(&view, record: record, masked: masked, fileIdentity: fileIdentity, filePath: filePath,
                       nowMillis: nowMillis, stats: stats, into: output, scratch: &scratch)
            }
        }
        scratch.seconds = seconds
        if let fast { return fast }
        return parser.parse(bytes: bytes, nowMillis: nowMillis).withView { view in
            finish(&view, record: record, masked: masked, fileIdentity: fileIdentity, filePath: filePath, nowMillis: nowMillis,
                   stats: stats, into: output, scratch: &scratch)
        }
    }

    /// RFC 3339 UTC texts of one layout order as their bytes do (a byte compare; String's `>` is Unicode-aware).
    static func isLater(_ x: UnsafeBufferPointer<UInt8>, than b: InlineText) -> Bool {
        b.withUTF8 { y in
            let common = min(x.count, y.count)
            guard common > 0 else { return x.count > y.count }
            let order = memcmp(x.baseAddress!, y.baseAddress!, common)
            return order > 0 || (order == 0 && x.count > y.count)
        }
    }

    /// The DEBUG policy, enrichment with the file's facts and the event id, and the encoding.
    private func finish(_ event: inout EventView, record: Record, masked: Int, fileIdentity: String, filePath: String,
                        nowMillis: Int64, stats: AgentStats, into output: OutputBuffer, scratch: inout Scratch) -> Outcome {
        if event.level == .debug && !allowDebug { return .drop(reason: \.droppedDebug) }
        if masked > 0 { stats.add(\.secretsMasked, Int64(masked), service: service) }
        event.filePath = filePath
        event.fileOffset = record.offset
        if scratch.idPrefix?.fileIdentity != fileIdentity {
            scratch.idPrefix = EventID.Prefix(host: host, fileIdentity: fileIdentity)
            scratch.fileKey = "\(host)|\(fileIdentity)"
            scratch.kubernetes = SourceFormats.kubernetesFacts(path: filePath)
            scratch.hasKubernetes = scratch.kubernetes != nil
        }
        event.eventID = scratch.idPrefix!.text(offset: record.offset)
        if scratch.hasKubernetes, let kubernetes = scratch.kubernetes {
            var facts = event.facts ?? SourceFacts()
            facts.merge(kubernetes)
            event.facts = facts
        }
        // One host with a bad clock must not push the detectors' event-time watermark ahead.
        let future: Bool
        if let millis = event.timestampMillis {
            future = millis > nowMillis + futureLimitMs
        } else {
            if nowMillis != scratch.futureBoundAt {
                scratch.futureBound = Timestamps.text(epochMillis: nowMillis + futureLimitMs)
                scratch.futureBoundAt = nowMillis
            }
            future = event.withTimestampBytes { Self.isLater($0, than: scratch.futureBound) }
        }
        if future {
            var facts = event.facts ?? SourceFacts()
            facts.created = event.timestampText
            event.facts = facts
            event.setTimestamp(Timestamps.text(epochMillis: nowMillis))
            event.tags.append("future_timestamp")
            stats.add(\.futureTimestamps, 1, service: service)
        }
        if !event.tags.isEmpty, event.tags.contains("unparsed") { stats.add(\.unparsedRecords, 1, service: service) }
        event.tags = event.tags.isEmpty ? record.tags : record.tags + event.tags
        event.encode(into: output, runs: &scratch.runs)
        return .ship(key: event.traceID.map { .trace($0) } ?? .file(scratch.fileKey))
    }
}
