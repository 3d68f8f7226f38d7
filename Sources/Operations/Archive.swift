import Codecs
import Foundation
import KafkaClient
import Synchronization

/// Topic archives: zstd-compressed JSONL segments, one record per line with topic, partition,
/// offset and timestamp, and a `manifest.json`. How an index is rebuilt after Kafka's retention
/// has expired: export now, import later, reindex.
public enum Archive {
    /// One line of a segment. Key and value are text when they are UTF-8 (events are JSON),
    /// base64 otherwise.
    struct Record: Codable {
        var topic: String
        var partition: Int32
        var offset: Int64
        var timestamp: Int64?
        var key: String?
        var keyBase64: String?
        var value: String?
        var valueBase64: String?

        enum CodingKeys: String, CodingKey {
            case topic, partition, offset, timestamp, key, value
            case keyBase64 = "key_b64", valueBase64 = "value_b64"
        }
    }

    public struct Segment: Codable, Sendable {
        public var file: String
        public var topic: String
        public var partition: Int32
        public var firstOffset: Int64
        public var lastOffset: Int64
        public var records: Int
        public var bytes: Int

        enum CodingKeys: String, CodingKey {
            case file, topic, partition, records, bytes
            case firstOffset = "first_offset", lastOffset = "last_offset"
        }
    }

    public struct Manifest: Codable, Sendable {
        public var version = 1
        public var created: String
        /// Partition count per topic at export time.
        public var topics: [String: Int]
        public var segments: [Segment]
        public var records: Int { segments.reduce(0) { $0 + $1.records } }
    }

    public static let recordsPerSegment = 50_000

    /// Exports the records of the topics matching `topicPattern` whose timestamps fall in
    /// [fromMs, toMs) (all when nil) into `directory`. `progress` gets the records written so far.
    public static func export(admin: KafkaAdmin, topicPattern: String, fromMs: Int64?, toMs: Int64?, to directory: URL,
                              progress: (Int) -> Void = { _ in }) throws -> Manifest {
        let partitions = try admin.partitions(matching: topicPattern)
        guard !partitions.isEmpty else { throw OperationsError("no topic matches \(topicPattern)") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let ranges = try admin.offsetRanges(partitions, fromMs: fromMs, toMs: toMs)
        var manifest = Manifest(created: ISO8601DateFormatter().string(from: Date()),
                                topics: Dictionary(grouping: partitions, by: \.topic).mapValues(\.count), segments: [])
        var open: [TopicPartition: (lines: [UInt8], first: Int64, last: Int64, count: Int)] = [:]
        var written = 0
        let encoder = JSONEncoder()
        func flush(_ tp: TopicPartition) throws {
            guard let segment = open.removeValue(forKey: tp), segment.count > 0 else { return }
            let name = "\(tp.topic)~\(tp.partition)~\(segment.first).jsonl.zst"
            // A run of frames of about 16 KiB each, cut at line ends: damage to the file costs
            // only the frame it hits, and everything before it still decodes.
            var packed: [UInt8] = []
            var start = 0
            while start < segment.lines.count {
                var end = min(start + 16_384, segment.lines.count)
                while end < segment.lines.count, segment.lines[end - 1] != 10 { end += 1 }
                packed += try Zstd.compress(Array(segment.lines[start..<end]))
                start = end
            }
            try Data(packed).write(to: directory.appendingPathComponent(name), options: .atomic)
            manifest.segments.append(Segment(file: name, topic: tp.topic, partition: tp.partition, firstOffset: segment.first,
                                             lastOffset: segment.last, records: segment.count, bytes: packed.count))
        }
        try admin.read(ranges) { message in
            let tp = message.topicPartition
            var record = Record(topic: message.topic, partition: message.partition, offset: message.offset, timestamp: message.timestampMs)
            if let key = message.key {
                if let text = String(validating: key, as: UTF8.self) { record.key = text } else { record.keyBase64 = Data(key).base64EncodedString() }
            }
            if let text = String(validating: message.value, as: UTF8.self) { record.value = text }
            else { record.valueBase64 = Data(message.value).base64EncodedString() }
            var segment = open[tp] ?? (lines: [], first: message.offset, last: message.offset, count: 0)
            segment.lines.append(contentsOf: try encoder.encode(record))
            segment.lines.append(10)
            segment.last = message.offset
            segment.count += 1
            open[tp] = segment
            if segment.count >= recordsPerSegment { try flush(tp) }
            written += 1
            if written % 10_000 == 0 { progress(written) }
        }
        for tp in open.keys.sorted() { try flush(tp) }
        manifest.segments.sort { ($0.topic, $0.partition, $0.firstOffset) < ($1.topic, $1.partition, $1.firstOffset) }
        let data = try JSONEncoder.pretty.encode(manifest)
        try data.write(to: directory.appendingPathComponent("manifest.json"), options: .atomic)
        progress(written)
        return manifest
    }

    public struct ImportResult: Sendable {
        public var imported = 0
        /// Damaged segments: the file, how many of its records were imported, and why it stopped.
        public var problems: [String] = []
    }

    /// Produces the archive's records back, each to its original partition (when the target
    /// topic has it), with its key and timestamp. A damaged segment is reported with its file
    /// and record number; everything before the damage is imported.
    /// Topics it creates get `replicationFactor` (`kafka.replication_factor`; -1: the broker's default).
    public static func importArchive(from directory: URL, topicMap: [String: String], admin: KafkaAdmin, producer: KafkaProducer,
                                     replicationFactor: Int = -1, progress: (Int) -> Void = { _ in }) throws -> ImportResult {
        let manifestURL = directory.appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            throw OperationsError("\(manifestURL.path) is missing: not an archive written by `logship archive export`")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw OperationsError("\(manifestURL.path) is unreadable: \(error)")
        }
        for (topic, partitions) in manifest.topics {
            try admin.createTopic(topicMap[topic] ?? topic, partitions: partitions, replicationFactor: replicationFactor, ignoreExisting: true)
        }
        var result = ImportResult()
        let failures = Mutex(0)
        let decoder = JSONDecoder()
        for segment in manifest.segments {
            let path = directory.appendingPathComponent(segment.file).path
            guard let packed = FileManager.default.contents(atPath: path) else {
                result.problems.append("\(segment.file): missing (\(segment.records) records not imported)")
                continue
            }
            let (bytes, damage) = Zstd.decompressPartially(Array(packed))
            var lineNumber = 0
            var importedHere = 0
            var stop: String?
            for line in bytes.split(separator: 10, omittingEmptySubsequences: true) {
                lineNumber += 1
                guard let record = try? decoder.decode(Record.self, from: Data(line)),
                      let value = record.value.map({ Array($0.utf8) }) ?? record.valueBase64.flatMap({ Data(base64Encoded: $0) }).map({ Array($0) })
                else {
                    stop = "record \(lineNumber) is not a valid archive record"
                    break
                }
                let key = record.key.map { Array($0.utf8) } ?? record.keyBase64.flatMap { Data(base64Encoded: $0) }.map { Array($0) }
                try producer.enqueue(topic: topicMap[record.topic] ?? record.topic, key: key, value: value, partition: record.partition,
                                     timestampMs: record.timestamp ?? 0) { outcome in
                    if case .failure = outcome { failures.withLock { $0 += 1 } }
                }
                result.imported += 1
                importedHere += 1
                if result.imported % 10_000 == 0 { progress(result.imported) }
            }
            if let damage, stop == nil { stop = "truncated or corrupt after record \(lineNumber) (\(damage))" }
            if let stop {
                result.problems.append("\(segment.file): \(stop); the \(importedHere) records before it were imported")
            }
        }
        guard producer.flushBlocking(timeoutMs: 60_000) else { throw OperationsError("Kafka did not acknowledge the import within 60 s") }
        let refused = failures.withLock { $0 }
        if refused > 0 { throw OperationsError("Kafka refused \(refused) imported records") }
        progress(result.imported)
        return result
    }
}

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
