import KafkaClient
import LogshipConfig

extension KafkaConfiguration {
    /// A client of the cluster `logship.yml` names (brokers, librdkafka properties) with the
    /// role's client id: the one place a Kafka client's settings are made from the file.
    /// `logLevel` sets librdkafka's `log_level` unless the file does (one-shot commands pass 0:
    /// they report failures themselves).
    public init(_ kafka: LogshipConfiguration.Kafka, clientID: String, logLevel: Int? = nil) {
        var properties = kafka.properties
        if let logLevel, properties["log_level"] == nil { properties["log_level"] = String(logLevel) }
        self.init(brokers: kafka.brokers, clientID: clientID, properties: properties,
                  compression: kafka.compression, compressionLevel: kafka.compressionLevel)
    }
}
