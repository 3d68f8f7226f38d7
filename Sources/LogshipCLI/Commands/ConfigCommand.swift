import ArgumentParser
import LogshipConfig
import Foundation

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check configuration files and show the effective configuration.",
        subcommands: [Validate.self, Show.self]
    )

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate logship.yml; lists every problem with its key path and exits 2 on any.",
            discussion: helpText("""
            Environment overrides (LOGSHIP_KAFKA_BROKERS, LOGSHIP_ES_URL, ...) and ${VAR} references
            are validated too. Messages name key paths and variables, never a secret's value.
            """)
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
                    print("\(config): OK — \(loaded.agent.inputs.count) agent input(s), brokers \(loaded.kafka.brokers.joined(separator: ",")), Elasticsearch \(loaded.elasticsearch.urls.map(LogshipConfiguration.redactingCredentials).joined(separator: ","))")
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

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration with every secret redacted.",
            discussion: helpText("""
            What the roles will run with: the file after ${VAR} references, *_file secrets,
            LOGSHIP_* overrides and defaults. Passwords, API keys, tokens, secrets (also inside
            kafka.properties, e.g. sasl.password) and credentials in URLs print as [REDACTED].
            Printed as JSON (which is also YAML); keys are snake case, durations in milliseconds
            (`_ms`). Exit 2 with every problem when the configuration is invalid.
            """)
        )

        @Option(name: .shortAndLong, help: "Path to logship.yml.")
        var config: String = "logship.yml"

        @Flag(help: "Print JSON (the default output is JSON already; accepted for scripts).")
        var json = false

        func run() async throws {
            let loaded: LogshipConfiguration
            do {
                loaded = try ConfigurationLoader.load(path: config)
            } catch let error as ConfigurationError {
                throw CLIError(error.description, status: ExitStatus.usage)
            }
            let data = try JSONSerialization.data(withJSONObject: try loaded.redactedTree(),
                                                  options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
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
