import ArgumentParser
import Foundation
import KafkaClient

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "List, create and describe Kafka topics.",
        subcommands: [List.self, Create.self, Describe.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics with their partition counts.")
        @OptionGroup var cluster: ClusterOptions
        @Flag(help: "Include internal topics (__consumer_offsets).") var all = false
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let config = try cluster.load()
            let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
            let metadata = try await admin.run { try $0.metadata() }
            let topics = metadata.topics.filter { all || !$0.name.hasPrefix("__") }
            if json {
                try printJSON(topics.map { TopicSummary(name: $0.name, partitions: $0.partitions.count) })
                return
            }
            var table = Table("TOPIC", "PARTITIONS")
            for topic in topics { table.add(topic.name, String(topic.partitions.count)) }
            print(topics.isEmpty ? "no topics" : table.render())
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic (an existing one is an error unless --if-not-exists).")
        @OptionGroup var cluster: ClusterOptions
        @Argument(help: "Topic name.") var name: String
        @Option(help: "Partitions (default: kafka.partitions).") var partitions: Int?
        @Option(help: "Replication factor (default: the broker's).") var replicationFactor: Int?
        @Flag(help: "Succeed when the topic already exists.") var ifNotExists = false

        func validate() throws {
            if let partitions, partitions < 1 { throw ValidationError("--partitions must be at least 1") }
        }

        func run() async throws {
            let config = try cluster.load()
            let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
            let count = partitions ?? config.kafka.partitions
            let rf = replicationFactor ?? config.kafka.replicationFactor
            let ignore = ifNotExists
            let topic = name
            try await admin.run { try $0.createTopic(topic, partitions: count, replicationFactor: rf, ignoreExisting: ignore) }
            print("created \(name) with \(count) partitions")
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show partitions, leaders, replicas and offsets of a topic.")
        @OptionGroup var cluster: ClusterOptions
        @Argument(help: "Topic name.") var name: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let config = try cluster.load()
            let admin = try KafkaAdmin(config.kafkaConfiguration(clientID: "logship-cli"))
            let topicName = name
            let rows = try await admin.run { admin -> [PartitionRow] in
                // All-topics metadata: asking for one topic by name makes auto-creating brokers create it.
                guard let topic = try admin.metadata().topics.first(where: { $0.name == topicName }),
                      topic.errorName == nil, !topic.partitions.isEmpty else {
                    throw CLIError("topic \(topicName) does not exist")
                }
                return try topic.partitions.map { p in
                    let marks = try admin.watermarks(TopicPartition(topicName, p.id))
                    return PartitionRow(partition: p.id, leader: p.leader, replicas: p.replicas, isr: p.inSyncReplicas,
                                        low: marks.low, high: marks.high)
                }
            }
            if json {
                try printJSON(TopicDetail(name: name, partitions: rows))
                return
            }
            var table = Table("PARTITION", "LEADER", "REPLICAS", "ISR", "LOW", "HIGH", "MESSAGES")
            for row in rows {
                table.add(String(row.partition), String(row.leader), row.replicas.map(String.init).joined(separator: ","),
                          row.isr.map(String.init).joined(separator: ","), String(row.low), String(row.high), String(row.high - row.low))
            }
            print("topic \(name): \(rows.count) partitions, \(rows.reduce(0) { $0 + $1.high - $1.low }) messages")
            print(table.render())
        }
    }

    struct TopicSummary: Encodable {
        var name: String
        var partitions: Int
    }

    struct PartitionRow: Encodable, Sendable {
        var partition: Int32
        var leader: Int32
        var replicas: [Int32]
        var isr: [Int32]
        var low: Int64
        var high: Int64
    }

    struct TopicDetail: Encodable {
        var name: String
        var partitions: [PartitionRow]
    }
}
