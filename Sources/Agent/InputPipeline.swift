import LogshipConfig
import Foundation
import LogModel

/// Everything the agent does to a record of one input between the file and Kafka:
/// parse, mask, filter by level, enrich, identify, encode.
final class InputPipeline: @unchecked Sendable {
    let service: String
    let topic: String
    let patterns: [String]
    let startAtEnd: Bool
    let parser: RecordParser
    let masker: SecretMasker
    let allowDebug: Bool
    let host: String
    private let rule: MultilineRule
    /// The id hash state of the file last seen (the agent loop is single-threaded).
    private var idPrefix: EventID.Prefix?

    init(input: LogshipConfiguration.Input, host: String, allowDebug: Bool, maskPatterns: [String], pythonFormat: String?) throws {
        service = Naming.sanitize(input.service)
        topic = Naming.topic(forService: input.service)
        patterns = input.paths
        startAtEnd = input.startAt == "end"
        self.host = host
        self.allowDebug = allowDebug
        masker = try SecretMasker(customPatterns: maskPatterns)
        let format = RecordParser.Format(rawValue: input.format.rawValue) ?? .auto
        parser = RecordParser(service: service, host: host, format: format,
                              pythonFormat: PythonLogFormat(pythonFormat ?? PythonLogFormat.standard),
                              staticFields: input.fields)
        switch input.multiline {
        case .preset("python"): rule = format == .json ? .none : .python
        case .preset("java"): rule = .java
        case .preset: rule = .none
        case .custom(let pattern, let negate, let match):
            rule = .custom(pattern: try NSRegularExpression(pattern: pattern), negate: negate, before: match == "before")
        }
    }

    func makeAggregator() -> MultilineAggregator { MultilineAggregator(rule: rule) }

    enum Outcome {
        case ship(key: [UInt8], value: [UInt8])
        case drop(reason: WritableKeyPath<AgentStats.Counters, Int64>)
    }

    func process(_ record: Record, fileIdentity: String, filePath: String, nowMillis: Int64, stats: AgentStats) -> Outcome {
        if record.text.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" }) { return .drop(reason: \.droppedEmpty) }
        var event = parser.parse(record.text, nowMillis: nowMillis)
        if event.level == .debug && !allowDebug { return .drop(reason: \.droppedDebug) }
        event.filePath = filePath
        event.fileOffset = record.offset
        if idPrefix?.fileIdentity != fileIdentity { idPrefix = EventID.Prefix(host: host, fileIdentity: fileIdentity) }
        event.eventID = idPrefix!.id(offset: record.offset)
        event.tags = record.tags
        var masked = 0
        func mask(_ text: inout String) {
            let (result, count) = masker.mask(text)
            if count > 0 { text = result; masked += count }
        }
        mask(&event.message)
        if var stack = event.stackTrace { mask(&stack); event.stackTrace = stack }
        if var text = event.errorMessage { mask(&text); event.errorMessage = text }
        if var original = event.original { mask(&original); event.original = original }
        event.labels = event.labels.map { key, value in
            var text = value
            let lower = key.lowercased()
            if SecretMasker.keys.contains(where: { lower.utf8.elementsEqual($0) || lower.hasSuffix("_" + String(decoding: $0, as: UTF8.self)) }) {
                if !text.isEmpty { text = SecretMasker.marker; masked += 1 }
            } else {
                mask(&text)
            }
            return (key, text)
        }
        if masked > 0 { stats.add(\.secretsMasked, Int64(masked), service: service) }
        let key = event.traceID.map { Array($0.utf8) } ?? Array("\(host)|\(fileIdentity)".utf8)
        return .ship(key: key, value: event.encoded())
    }
}
