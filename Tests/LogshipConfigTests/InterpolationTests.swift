import Foundation
import LogshipConfig
import Testing

@Suite struct InterpolationTests {
    let env = ["BROKERS": "k1:9092", "EMPTY": "", "PASS": "s3cr3t$x"]

    @Test(arguments: [
        ("${BROKERS}", "k1:9092"), ("a-${BROKERS}-b", "a-k1:9092-b"), ("${NOPE:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"), ("${EMPTY-fallback}", ""), ("${NOPE-x}", "x"), ("${BROKERS:?set it}", "k1:9092"),
        ("$$HOME", "$HOME"), ("price $5", "price $5"), ("${PASS}", "s3cr3t$x"), ("no reference", "no reference"),
    ])
    func expands(text: String, expected: String) {
        #expect(Interpolation.expand(text, environment: env) == .success(expected))
    }

    @Test(arguments: [
        ("${NOPE}", "${NOPE} is not set (give a default with ${NOPE:-value})"),
        ("${NOPE:?set it in the unit file}", "${NOPE}: set it in the unit file"),
        ("${EMPTY:?}", "${EMPTY}: required and not set"),
        ("${BROKERS", "unclosed ${ in \"…${BROKERS\""),
        ("${1X}", "${1X}: expected a variable name such as ${ES_PASSWORD}"),
        ("${BROKERS:+x}", "${BROKERS:+x}: unknown form (use ${VAR}, ${VAR:-default} or ${VAR:?message})"),
    ])
    func failsWithAClearMessage(text: String, message: String) {
        #expect(Interpolation.expand(text, environment: env) == .failure(.init(message: message)))
    }

    /// Every string of the file is expanded; each failure names its key path and the variable
    /// (never a value); `*_file` secrets are read from files; `config show` redacts them.
    @Test func aConfigFileUsesTheEnvironmentAndSecretFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("interp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let secretFile = dir.appendingPathComponent("es-password").path
        try "from-a-file-Z9\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let yaml = """
        kafka:
          brokers: ["${KAFKA_BROKERS}"]
          properties: {sasl.password: "${SASL_PASSWORD}", security.protocol: "${KAFKA_PROTOCOL:-PLAINTEXT}"}
        elasticsearch:
          urls: ["https://elastic:${URL_PASSWORD}@es1:9200", "https://es2:9200"]
          username: elastic
          password_file: ${ES_PASSWORD_FILE}
          tls: {verify: "${TLS_VERIFY:-true}"}
        coordinator:
          token: "${COORDINATOR_TOKEN:?set it}"
        """
        let environment = ["KAFKA_BROKERS": "10.1.1.1:9093", "SASL_PASSWORD": "sasl-pw-Q7", "ES_PASSWORD_FILE": secretFile,
                           "URL_PASSWORD": "url-pw-K2", "COORDINATOR_TOKEN": "tok-W4"]
        let config = try ConfigurationLoader.parse(yaml, environment: environment)
        #expect(config.kafka.brokers == ["10.1.1.1:9093"])
        #expect(config.kafka.properties == ["sasl.password": "sasl-pw-Q7", "security.protocol": "PLAINTEXT"])
        #expect(config.elasticsearch.password == "from-a-file-Z9")
        #expect(config.elasticsearch.urls == ["https://elastic:url-pw-K2@es1:9200", "https://es2:9200"])
        #expect(config.elasticsearch.tls.verify)
        #expect(config.coordinator.token == "tok-W4")

        let shown = String(decoding: try JSONSerialization.data(withJSONObject: try config.redactedTree(), options: [.sortedKeys]), as: UTF8.self)
        for secret in ["sasl-pw-Q7", "from-a-file-Z9", "url-pw-K2", "tok-W4"] { #expect(!shown.contains(secret), "\(secret) in \(shown)") }
        #expect(shown.contains("10.1.1.1:9093") && shown.contains("[REDACTED]@es1:9200") && shown.contains("PLAINTEXT"))

        var missing = environment
        missing["COORDINATOR_TOKEN"] = nil
        missing["SASL_PASSWORD"] = nil
        let error = try #require(throws: ConfigurationError.self) { try ConfigurationLoader.parse(yaml, environment: missing) }
        #expect(error.problems.map(\.path) == ["coordinator.token", "kafka.properties.sasl.password"])
        #expect(error.problems.map(\.message) == ["${COORDINATOR_TOKEN}: set it", "${SASL_PASSWORD} is not set (give a default with ${SASL_PASSWORD:-value})"])
        #expect(!error.description.contains("sasl-pw-Q7"))
    }
}
