import Foundation
import KafkaClient
import Testing
import TestSupport

/// `archive import` creates the topics it writes with `kafka.replication_factor`: on a cluster
/// with `min.insync.replicas=2` and `acks=all`, a topic left at the broker's default of 1 would
/// refuse every write. librdkafka's mock cluster (2.0.2 here) never answers CreateTopics
/// (measured: "no answer from the cluster within 10000 ms"), so the broker is noida-db, which
/// checks the factor against its one broker: asking for 3 is refused with Kafka's own error
/// (the factor reached the broker), asking for 1 creates the topic with one replica.
@Suite(.serialized) struct ArchiveReplicationTests {
    @Test func importCreatesItsTopicWithTheConfiguredReplicationFactor() async throws {
        let server = try NoidaDB.start(services: ["kafka"])
        defer { server.destroy() }
        let kafka = KafkaConfiguration(brokers: [server.kafkaBootstrap], properties: ["log_level": "0"])
        let admin = try KafkaAdmin(kafka)
        try admin.createTopic("logs.src", partitions: 2)
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 1_000))
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for index in 0..<200 {
            try producer.enqueue(topic: "logs.src", key: nil, value: Array("record \(index)".utf8), partition: Int32(index % 2),
                                 timestampMs: now - 10_000 + Int64(index)) { _ in }
        }
        try await producer.flush(timeout: .seconds(30))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("archive-rf-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func config(replicationFactor: Int) throws -> String {
            let path = dir.appendingPathComponent("rf\(replicationFactor).yml").path
            try "kafka: {brokers: [\"\(server.kafkaBootstrap)\"], replication_factor: \(replicationFactor)}\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let archive = dir.appendingPathComponent("archive").path
        let export = try LogshipBinary.run(["archive", "export", "--topic", "^logs\\.src$", "--out", archive, "--json",
                                            "--config", try config(replicationFactor: 1)])
        #expect(export.status == 0, "\(export.stdout)\(export.stderr)")

        let three = try LogshipBinary.run(["archive", "import", archive, "--topic-map", "logs.src=logs.restored3", "--json",
                                           "--config", try config(replicationFactor: 3)])
        #expect(three.status == 1, "\(three.stdout)")
        #expect(three.stderr.contains("replication factor of 3") && three.stderr.contains("logs.restored3"), "\(three.stderr)")

        let one = try LogshipBinary.run(["archive", "import", archive, "--topic-map", "logs.src=logs.restored", "--json",
                                         "--config", try config(replicationFactor: 1)])
        #expect(one.status == 0, "\(one.stdout)\(one.stderr)")
        let restored = try #require(try admin.metadata().topics.first { $0.name == "logs.restored" })
        #expect(restored.partitions.count == 2 && restored.partitions.allSatisfy { $0.replicas.count == 1 })
        var high: Int64 = 0
        for partition in restored.partitions { high += try admin.watermarks(TopicPartition("logs.restored", partition.id)).high }
        #expect(high == 200, "every record imported")
    }
}
