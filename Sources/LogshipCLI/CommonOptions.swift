import LogshipConfig
import ElasticClient
import Foundation
import KafkaClient

extension LogshipConfiguration {
    /// One-shot commands report failures themselves; librdkafka's own lines would only repeat them.
    func kafkaConfiguration(clientID: String) -> KafkaConfiguration {
        KafkaConfiguration(kafka, clientID: clientID, logLevel: 0)
    }

    func elasticConfiguration(connectTimeoutMs: Int = 5_000) -> ElasticConfiguration {
        ElasticConfiguration(elasticsearch, connectTimeoutMs: connectTimeoutMs)
    }
}
