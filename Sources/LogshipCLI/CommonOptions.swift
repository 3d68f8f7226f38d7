import ArgumentParser
import LogshipConfig
import ElasticClient
import Foundation
import KafkaClient

/// Options every command that talks to the cluster takes.
struct ClusterOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path to logship.yml (default: ./logship.yml when present).")
    var config: String?

    @Option(help: "Kafka bootstrap brokers, comma-separated (overrides kafka.brokers).")
    var brokers: String?

    @Option(name: .customLong("es-url"), help: "Elasticsearch URL (overrides elasticsearch.url).")
    var esURL: String?

    /// Loads the configuration; any problem is a usage error (exit 2) listing them all.
    func load() throws -> LogshipConfiguration {
        var path = config
        if path == nil && FileManager.default.fileExists(atPath: "logship.yml") { path = "logship.yml" }
        var configuration: LogshipConfiguration
        do {
            configuration = try ConfigurationLoader.load(path: path)
        } catch let error as ConfigurationError {
            throw CLIError(error.description, status: ExitStatus.usage)
        }
        if let brokers {
            configuration.kafka.brokers = brokers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let esURL { configuration.elasticsearch.url = esURL }
        return configuration
    }
}

extension LogshipConfiguration {
    /// One-shot commands report failures themselves; librdkafka's own lines would only repeat them.
    func kafkaConfiguration(clientID: String) -> KafkaConfiguration {
        KafkaConfiguration(kafka, clientID: clientID, logLevel: 0)
    }

    func elasticConfiguration(connectTimeoutMs: Int = 5_000) -> ElasticConfiguration {
        ElasticConfiguration(elasticsearch, connectTimeoutMs: connectTimeoutMs)
    }
}

/// JSON output for `--json`: sorted keys, one document.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
