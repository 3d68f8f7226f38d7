@testable import KafkaClient
import Testing

/// The librdkafka properties producers get: zstd at level 1 unless told otherwise, other codecs
/// at librdkafka's level, and a user's pass-through properties over both.
@Suite struct ProducerSettingsTests {
    func properties(_ kafka: KafkaConfiguration) -> [String: String] {
        KafkaProducerConfiguration(kafka: kafka).librdkafkaProperties
    }

    @Test func zstdDefaultsToLevelOneAndAConfiguredLevelOrPropertyWins() {
        let zstd = properties(KafkaConfiguration(brokers: ["127.0.0.1:9092"]))
        #expect(zstd["compression.type"] == "zstd")
        #expect(zstd["compression.level"] == "1")
        #expect(properties(KafkaConfiguration(brokers: ["127.0.0.1:9092"], compressionLevel: 6))["compression.level"] == "6")
        let lz4 = properties(KafkaConfiguration(brokers: ["127.0.0.1:9092"], compression: "lz4"))
        #expect(lz4["compression.type"] == "lz4" && lz4["compression.level"] == nil)
        let passedThrough = properties(KafkaConfiguration(brokers: ["127.0.0.1:9092"], properties: ["compression.level": "9"]))
        #expect(passedThrough["compression.level"] == "9")
    }
}
