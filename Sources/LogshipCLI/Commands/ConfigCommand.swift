import ArgumentParser
import LogshipConfig
import Foundation

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check configuration files.",
        subcommands: [Validate.self]
    )

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate logship.yml; lists every problem with its key path and exits 2 on any.",
            discussion: "Environment overrides (LOGSHIP_KAFKA_BROKERS, LOGSHIP_ES_URL, ...) are validated too."
        )

        @Option(name: .shortAndLong, help: "Path to logship.yml.")
        var config: String = "logship.yml"

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            do {
                let loaded = try ConfigurationLoader.load(path: config)
                if json {
                    try printJSON(ValidationReport(file: config, valid: true, problems: []))
                } else {
                    print("\(config): OK — \(loaded.agent.inputs.count) agent input(s), brokers \(loaded.kafka.brokers.joined(separator: ",")), Elasticsearch \(loaded.elasticsearch.url)")
                }
            } catch let error as ConfigurationError {
                if json {
                    try printJSON(ValidationReport(file: config, valid: false,
                                                   problems: error.problems.map { .init(path: $0.path, message: $0.message) }))
                    throw ExitCode(ExitStatus.usage)
                }
                throw CLIError(error.description, status: ExitStatus.usage)
            }
        }
    }

    struct ValidationReport: Encodable {
        struct Problem: Encodable {
            var path: String
            var message: String
        }

        var file: String
        var valid: Bool
        var problems: [Problem]
    }
}
