import ElasticClient
import Foundation
import KafkaClient
import LogModel

/// Rebuilds a service's indices from its topic into `logs-<service>-<date>-<suffix>`, then
/// (optionally) moves the read alias there atomically and deletes the old indices. Progress is
/// committed under its own consumer group after every acknowledged bulk, so an interrupted run,
/// started again, resumes where it stopped; ids are deterministic, so nothing is indexed twice.
public final class Reindexer: Sendable {
    public struct Options: Sendable {
        public var service: String
        public var suffix: String
        public var fromMs: Int64?
        public var toMs: Int64?
        public var batchDocuments = 2_000
        public init(service: String, suffix: String, fromMs: Int64? = nil, toMs: Int64? = nil) {
            self.service = service
            self.suffix = suffix
            self.fromMs = fromMs
            self.toMs = toMs
        }
    }

    public struct Progress: Sendable {
        public var done: Int64
        public var total: Int64
        public var created: Int64
        public var existed: Int64
        public var rejected: Int64
    }

    public struct Result: Codable, Sendable {
        public var service: String
        public var documents: Int64
        public var created: Int64
        public var alreadyThere: Int64
        public var rejected: Int64
        public var indices: [String]
        public var aliasSwapped: Bool
        public var deleted: [String]
        public var interrupted: Bool
    }

    let admin: KafkaAdmin
    public let es: ElasticClient
    let options: Options
    public var group: String { "logship-reindex-\(Naming.sanitize(options.service))-\(options.suffix)" }
    public var topic: String { Naming.topic(forService: options.service) }

    public init(admin: KafkaAdmin, es: ElasticClient, options: Options) {
        self.admin = admin
        self.es = es
        self.options = options
    }

    /// Copies the topic's range into the suffixed indices. `shouldStop` is polled between bulks
    /// (an interrupted run keeps its committed progress). Retriable Elasticsearch failures are
    /// retried with backoff, at most `maxAttempts` times in a row.
    public func run(maxAttempts: Int = 8, shouldStop: () -> Bool = { false },
                    progress: (Progress) -> Void = { _ in }) throws -> Result {
        let meta = try admin.metadata(topic: topic)
        guard let partitions = meta.topics.first(where: { $0.name == topic })?.partitions.map({ TopicPartition(topic, $0.id) }),
              !partitions.isEmpty else { throw IndexerError("topic \(topic) does not exist: nothing to reindex for \(options.service)") }
        let wanted = try admin.offsetRanges(partitions, fromMs: options.fromMs, toMs: options.toMs)
        let resumed = try admin.committedOffsets(group: group, partitions: partitions)
        var ranges: [TopicPartition: Range<Int64>] = [:]
        var total: Int64 = 0, done: Int64 = 0
        for (tp, range) in wanted {
            let resumeAt = min(max((resumed[tp] ?? nil) ?? range.lowerBound, range.lowerBound), range.upperBound)
            total += Int64(range.count)
            done += resumeAt - range.lowerBound
            if resumeAt < range.upperBound { ranges[tp] = resumeAt..<range.upperBound }
        }
        var state = Progress(done: done, total: total, created: 0, existed: 0, rejected: 0)
        var indices = Set<String>()
        var batch: [KafkaMessage] = []
        var interrupted = false
        progress(state)
        func flush() throws {
            guard !batch.isEmpty else { return }
            try write(batch, maxAttempts: maxAttempts, into: &indices, state: &state)
            var next: [TopicPartition: Int64] = [:]
            for m in batch { next[m.topicPartition] = max(next[m.topicPartition] ?? 0, m.offset + 1) }
            try admin.commitOffsets(group: group, offsets: next)
            state.done += Int64(batch.count)
            batch.removeAll(keepingCapacity: true)
            progress(state)
        }
        struct Stop: Error {}
        do {
            try admin.read(ranges) { message in
                batch.append(message)
                if batch.count >= options.batchDocuments {
                    try flush()
                    if shouldStop() { throw Stop() }
                }
            }
            try flush()
        } catch is Stop {
            interrupted = true
        }
        return Result(service: options.service, documents: state.done, created: state.created, alreadyThere: state.existed,
                      rejected: state.rejected, indices: indices.sorted(), aliasSwapped: false, deleted: [], interrupted: interrupted)
    }

    private func write(_ messages: [KafkaMessage], maxAttempts: Int, into indices: inout Set<String>, state: inout Progress) throws {
        var pending: [BulkItem] = []
        for m in messages {
            guard case .success(let routed) = DocumentRouter.route(topic: m.topic, partition: m.partition, offset: m.offset, value: m.value)
            else { state.rejected += 1; continue }
            let index = routed.index + "-" + options.suffix
            if !indices.contains(index) {
                try es.createIndex(index)
                indices.insert(index)
            }
            pending.append(BulkItem(index: index, id: routed.id, document: m.value))
        }
        var attempt = 0
        while !pending.isEmpty {
            var retry: [BulkItem] = []
            do {
                for (item, result) in zip(pending, try es.bulk(pending)) {
                    switch result.outcome {
                    case .created: state.created += 1
                    case .alreadyExists: state.existed += 1
                    case .retriable: retry.append(item)
                    case .rejected: state.rejected += 1
                    }
                }
            } catch let error as ElasticError where error.isRetriable {
                retry = pending
            }
            pending = retry
            guard !pending.isEmpty else { return }
            attempt += 1
            guard attempt < maxAttempts else {
                throw IndexerError("Elasticsearch kept refusing \(pending.count) documents after \(attempt) attempts; progress is saved, run again to resume")
            }
            Thread.sleep(forTimeInterval: Double(RetryPolicy.backoffMs(attempt: attempt, capMs: 10_000, random: Double.random(in: 0.5..<1))) / 1000)
        }
    }

    /// Points the read alias at `indices` only, in one atomic request; returns the indices it
    /// left (the old ones).
    public func swapAlias(to indices: [String]) throws -> [String] {
        let alias = Naming.alias(service: options.service)
        let old = try es.indices(ofAlias: alias).filter { !indices.contains($0) }
        try es.updateAliases(old.map { .remove(index: $0, alias: alias) } + indices.map { .add(index: $0, alias: alias) })
        return old
    }

    /// The service's indices written by this reindex (any run), found by their suffix.
    public func suffixedIndices() throws -> [String] {
        let response = try es.requestBlocking("GET", "/_cat/indices/\(Naming.alias(service: options.service))-*-\(options.suffix)?format=json&h=index")
        guard response.isSuccess, case .array(let rows) = try response.json() else { return [] }
        return rows.compactMap { $0["index"]?.string }.sorted()
    }
}
