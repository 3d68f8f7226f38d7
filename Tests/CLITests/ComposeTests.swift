import Foundation
import LogshipCLI
import LogshipConfig
import Testing
import Yams

/// compose/ cannot run here (no Docker engine); this checks that what it names exists and
/// agrees with its logship.yml, so it does not rot.
@Suite struct ComposeTests {
    let compose = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("compose")

    func load() throws -> [String: Any] {
        let text = try String(contentsOf: compose.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    @Test func servicesFilesAndPortsAgreeWithTheConfig() throws {
        let file = try load()
        let services = try #require(file["services"] as? [String: [String: Any]])
        for name in ["kafka-1", "kafka-2", "kafka-3", "elasticsearch", "kibana", "kibana-setup", "demo", "agent", "indexer", "detector", "coordinator"] {
            #expect(services[name] != nil, "service \(name) missing")
        }
        #expect((services["indexer"]?["deploy"] as? [String: Any])?["replicas"] as? Int == 2)

        // Files that services build from or mount exist.
        for (name, service) in services {
            if let build = service["build"] as? [String: String] {
                let context = compose.appendingPathComponent(build["context"] ?? ".").standardized
                #expect(FileManager.default.fileExists(atPath: context.appendingPathComponent(build["dockerfile"] ?? "Dockerfile").path), "\(name): dockerfile")
                #expect(FileManager.default.fileExists(atPath: context.appendingPathComponent("Package.swift").path))
            }
            for volume in service["volumes"] as? [String] ?? [] where volume.hasPrefix("./") {
                let source = String(volume.split(separator: ":")[0])
                #expect(FileManager.default.fileExists(atPath: compose.appendingPathComponent(source).path), "\(name): \(source)")
            }
            // Every logship command line parses as the CLI would parse it.
            if let command = service["command"] as? [String], ["demo", "agent", "indexer", "detector", "coordinator"].contains(name) {
                #expect(throws: Never.self, "\(name): \(command)") { _ = try LogshipCommand.parseAsRoot(command) }
            }
        }
        for file in ["kibana/setup.sh", "kibana/saved-objects.ndjson", "logship.yml"] {
            #expect(FileManager.default.fileExists(atPath: compose.appendingPathComponent(file).path))
        }

        // logship.yml is valid and points at the compose services and their ports.
        let config = try ConfigurationLoader.load(path: compose.appendingPathComponent("logship.yml").path, environment: [:])
        let advertised = Set(["kafka-1", "kafka-2", "kafka-3"].compactMap {
            (services[$0]?["environment"] as? [String: Any])?["KAFKA_ADVERTISED_LISTENERS"] as? String
        }.map { $0.replacingOccurrences(of: "PLAINTEXT://", with: "") })
        #expect(Set(config.kafka.brokers) == advertised)
        #expect(config.elasticsearch.url == "http://elasticsearch:9200")
        #expect((services["elasticsearch"]?["ports"] as? [String])?.contains { $0.hasSuffix(":9200") } == true)
        #expect(config.kafka.replicationFactor == 3)
        let demoTarget = "/var/log/demo"
        #expect((services["agent"]?["volumes"] as? [String])?.contains("demo-logs:\(demoTarget):ro") == true)
        #expect(config.agent.inputs.allSatisfy { $0.paths.allSatisfy { $0.hasPrefix(demoTarget + "/") } })
        #expect(Set(config.agent.inputs.map(\.service)) == ["gateway", "orders", "payment", "inventory"])
    }

    @Test func kibanaObjectsAreValidNDJSONWithTheDataViewAndSearches() throws {
        let text = try String(contentsOf: compose.appendingPathComponent("kibana/saved-objects.ndjson"), encoding: .utf8)
        let objects = try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let titles = objects.compactMap { ($0["attributes"] as? [String: Any])?["title"] as? String }
        #expect(titles.contains("logs-*"))
        #expect(titles.contains("Error rate by service"))
        #expect(titles.contains { $0.hasPrefix("Slow requests") })
        #expect(titles.contains { $0.contains("trace.id") })
    }
}
