import ElasticClient
import Foundation
import KafkaClient
import LogModel
import Synchronization
import TestSupport

/// Shared pieces of the indexer tests: events with known ids, a config file, group lag.
struct IndexerFixture {
    let dir: URL
    let kafka: String
    let elasticsearch: String

    init(kafka: String, elasticsearch: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("indexer-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.kafka = kafka
        self.elasticsearch = elasticsearch
    }

    func writeConfig(batch: Int = 500, flushInterval: String = "300ms", assignor: String = "range,roundrobin",
                     extra: String = "") throws -> String {
        let path = dir.appendingPathComponent("logship.yml").path
        try """
        kafka: {brokers: ["\(kafka)"], partitions: 3, assignor: "\(assignor)", properties: {session.timeout.ms: "6000", max.poll.interval.ms: "12000"}}
        elasticsearch: {url: "\(elasticsearch)", timeout: 10s}
        indexer: {batch_documents: \(batch), flush_interval: \(flushInterval)}
        coordinator: {heartbeat_interval: 1s}
        \(extra)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func indexer(_ name: String, config: String, metricsPort: Int? = nil, staticMember: Bool = false) -> RoleProcess {
        var arguments = ["indexer", "--config", config, "--component-id", name, "--log-level", "info"]
        if staticMember { arguments += ["--instance-id", name] }
        if let metricsPort { arguments += ["--metrics-listen", "127.0.0.1:\(metricsPort)"] }
        return RoleProcess(arguments, log: dir.appendingPathComponent("\(name).log"))
    }

    /// An event as the agent writes it; `n` decides the id, so equal `n` means a repeat.
    static func event(service: String, n: Int, day: String = Self.today) -> [UInt8] {
        Array("""
        {"@timestamp":"\(day)T10:00:00.000Z","message":"\(service) event \(n)","service":{"name":"\(service)"},"log":{"level":"INFO"},"event":{"id":"\(String(format: "%032x", n + service.hashValueStable * 1_000_000))"}}
        """.utf8)
    }

    static var today: String { String(Timestamps.format(epochMillis: Int64(Date().timeIntervalSince1970 * 1000)).prefix(10)) }

    /// Produces records and waits for every delivery report; returns how many were acknowledged.
    /// `createTopics: false` for the mock cluster, which does not answer CreateTopics.
    static func produce(_ records: [(topic: String, value: [UInt8])], brokers: String, createTopics: Bool = true) throws -> Int {
        let producer = try KafkaProducer(KafkaProducerConfiguration(
            kafka: KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"]), maxInFlight: 20_000,
            createTopicsWithPartitions: createTopics ? 3 : nil))
        let acked = Mutex(0)
        for record in records {
            try producer.enqueue(topic: record.topic, key: nil, value: record.value) { result in
                if case .success = result { acked.withLock { $0 += 1 } }
            }
        }
        guard producer.flushBlocking(timeoutMs: 60_000) else { throw TestBackendError("produce did not finish") }
        return acked.withLock { $0 }
    }

    /// Total lag of a group over topics: log end minus committed (from the log start when none).
    static func groupLag(_ group: String, topics: [String], brokers: String) throws -> Int64 {
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"]))
        var lag: Int64 = 0
        for topic in topics {
            let partitions = try admin.metadata().topics.first { $0.name == topic }?.partitions.map { TopicPartition(topic, $0.id) } ?? []
            let committed = try admin.committedOffsets(group: group, partitions: partitions)
            for tp in partitions {
                let marks = try admin.watermarks(tp)
                lag += marks.high - ((committed[tp] ?? nil) ?? marks.low)
            }
        }
        return lag
    }

    static func committed(_ group: String, topic: String, brokers: String) throws -> [TopicPartition: Int64?] {
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"]))
        let partitions = try admin.metadata().topics.first { $0.name == topic }?.partitions.map { TopicPartition(topic, $0.id) } ?? []
        return try admin.committedOffsets(group: group, partitions: partitions)
    }

    func count(_ service: String) throws -> Int {
        let es = try ElasticClient(ElasticConfiguration(url: elasticsearch))
        guard (try? es.refresh("logs-\(service)-*")) != nil else { return 0 }
        return (try? es.count("logs-\(service)-*")) ?? 0
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }
}

extension String {
    /// A small stable hash (Swift's hashValue is seeded per process).
    var hashValueStable: Int { Int(utf8.reduce(UInt32(7)) { $0 &* 31 &+ UInt32($1) } % 1000) }
}
