import ArgumentParser
import Foundation
import LogshipCLI
import LogshipConfig
import Testing
import TestSupport
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
            // (The agent's entrypoint is its own binary, logship-agent.)
            if let command = service["command"] as? [String], ["demo", "agent", "indexer", "detector", "coordinator"].contains(name) {
                let entrypoint = service["entrypoint"] as? [String]
                #expect(entrypoint == (name == "agent" ? ["/usr/local/bin/logship-agent"] : nil), "\(name): entrypoint")
                let root: ParsableCommand.Type = name == "agent" ? AgentBinaryCommand.self : LogshipCommand.self
                #expect(throws: Never.self, "\(name): \(command)") { _ = try root.parseAsRoot(command) }
            }
        }
        for file in ["kibana/setup.sh", "kibana/saved-objects.ndjson", "logship.yml"] {
            #expect(FileManager.default.fileExists(atPath: compose.appendingPathComponent(file).path))
        }

        // logship.yml is valid and points at the compose services and their ports.
        let config = try ConfigurationLoader.load(path: compose.appendingPathComponent("logship.yml").path, environment: [:])
        let advertised = Set(["kafka-1", "kafka-2", "kafka-3"].compactMap {
            (services[$0]?["environment"] as? [String: Any])?["KAFKA_ADVERTISED_LISTENERS"] as? String
        }.map { String($0.split(separator: ",")[0]).replacingOccurrences(of: "PLAINTEXT://", with: "") })
        #expect(Set(config.kafka.brokers) == advertised)
        #expect(config.elasticsearch.url == "http://elasticsearch:9200")
        #expect((services["elasticsearch"]?["ports"] as? [String])?.contains { $0.hasSuffix(":9200") } == true)
        #expect(config.kafka.replicationFactor == 3)
        let demoTarget = "/var/log/demo"
        #expect((services["agent"]?["volumes"] as? [String])?.contains("demo-logs:\(demoTarget):ro") == true)
        #expect(config.agent.inputs.allSatisfy { $0.paths.allSatisfy { $0.hasPrefix(demoTarget + "/") } })
        #expect(Set(config.agent.inputs.map(\.service)) == ["gateway", "orders", "payment", "inventory"])
    }

    /// Read against the images' documented behaviour: what keeps a compose cluster running.
    @Test func theFileValidatesAndKeepsTheClusterRunning() throws {
        let root = compose.deletingLastPathComponent()
        let wheel = try #require(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(".build-tools").path)
            .first { $0.hasPrefix("docker_compose-1.29.2") }, "cluster/bootstrap --test downloads the compose-spec schema")
        let schema = try Subprocess.run("python3", [PythonScript.path("validate_compose.py"), compose.appendingPathComponent("docker-compose.yml").path,
                                                   root.appendingPathComponent(".build-tools/\(wheel)").path])
        #expect(schema.status == 0, "\(schema.stdout)\(schema.stderr)")

        let services = try #require(try load()["services"] as? [String: [String: Any]])
        for (name, service) in services {
            // Healthchecks parse as shell and background nothing (an unquoted & would make curl's
            // answer irrelevant: the check would always pass).
            if let test = (service["healthcheck"] as? [String: Any])?["test"] as? [String] {
                #expect(test.first == "CMD-SHELL", "\(name)")
                let command = test.dropFirst().joined(separator: " ")
                #expect(try Subprocess.run("sh", ["-n", "-c", command]).status == 0, "\(name): \(command)")
                #expect(!Self.backgrounds(command), "\(name) backgrounds: \(command)")
            }
            // Long-running services come back after a failure; the one-shot does not.
            let restart = service["restart"] as? String
            #expect(name == "kibana-setup" ? restart == "no" : restart == "unless-stopped", "\(name): restart \(restart ?? "none")")
            // Dependencies wait for health (or completion), never just for a start of the broker.
            if let dependsOn = service["depends_on"] {
                let conditions = try #require(dependsOn as? [String: [String: String]], "\(name): depends_on long form")
                for (dependency, condition) in conditions {
                    let wanted = services[dependency]?["healthcheck"] != nil ? "service_healthy" : "service_started"
                    #expect(condition["condition"] == wanted || condition["condition"] == "service_completed_successfully",
                            "\(name) → \(dependency): \(condition)")
                }
            }
        }
        // Every logship role has a healthcheck on its /health.
        for role in ["agent", "indexer", "detector", "coordinator"] {
            let test = ((services[role]?["healthcheck"] as? [String: Any])?["test"] as? [String])?.joined(separator: " ") ?? ""
            #expect(test.contains("/health"), "\(role)")
        }
        // Kafka: data on the volume, a 16-byte cluster id, a listener for the host.
        for name in ["kafka-1", "kafka-2", "kafka-3"] {
            let environment = try #require(services[name]?["environment"] as? [String: Any])
            let logDirs = try #require(environment["KAFKA_LOG_DIRS"] as? String, "\(name): KAFKA_LOG_DIRS")
            let targets = (services[name]?["volumes"] as? [String] ?? []).map { String($0.split(separator: ":")[1]) }
            #expect(targets.contains { logDirs.hasPrefix($0) }, "\(name): \(logDirs) under a volume \(targets)")
            var id = (environment["CLUSTER_ID"] as? String ?? "").replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            id += String(repeating: "=", count: (4 - id.count % 4) % 4)
            #expect(Data(base64Encoded: id)?.count == 16, "\(name): CLUSTER_ID decodes to 16 bytes")
            #expect((environment["KAFKA_ADVERTISED_LISTENERS"] as? String)?.contains("EXTERNAL://127.0.0.1:") == true)
            #expect((services[name]?["ports"] as? [String])?.first?.hasPrefix("127.0.0.1:") == true)
        }
        // One image for every logship role, built by one service.
        let roles = ["demo", "agent", "indexer", "detector", "coordinator"]
        #expect(Set(roles.compactMap { services[$0]?["image"] as? String }) == ["logship:local"])
        #expect(services.values.filter { $0["build"] != nil }.count == 1)
        let dockerfile = try String(contentsOf: compose.appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.contains("FROM swift:6.3") && dockerfile.contains("--static-swift-stdlib") && dockerfile.contains("USER logship"))
        let ignored = try String(contentsOf: root.appendingPathComponent(".dockerignore"), encoding: .utf8)
        #expect(ignored.split(separator: "\n").contains(".build"))
        // kibana-setup fails when Kibana says the import failed.
        let setup = try String(contentsOf: compose.appendingPathComponent("kibana/setup.sh"), encoding: .utf8)
        #expect(setup.contains("\"success\":true") && setup.contains("exit 1"))
        #expect(try Subprocess.run("sh", ["-n", compose.appendingPathComponent("kibana/setup.sh").path]).status == 0)
    }

    /// A single `&` outside quotes (not `&&`) sends the command to the background.
    static func backgrounds(_ command: String) -> Bool {
        var quote: Character?
        let characters = Array(command)
        for (i, c) in characters.enumerated() {
            if let open = quote {
                if c == open { quote = nil }
                continue
            }
            if c == "'" || c == "\"" { quote = c; continue }
            if c == "&" && (i == 0 || characters[i - 1] != "&") && (i + 1 == characters.count || characters[i + 1] != "&") { return true }
        }
        return false
    }

    @Test func aBackgroundingHealthcheckIsCaught() {
        #expect(Self.backgrounds("curl -fs http://x/_cluster/health?wait_for_status=yellow&timeout=5s"))
        #expect(!Self.backgrounds("curl -fs 'http://x/_cluster/health?wait_for_status=yellow&timeout=5s' && true"))
    }

    @Test func kibanaObjectsAreValidNDJSONWithTheDataViewAndSearches() throws {
        let text = try String(contentsOf: compose.appendingPathComponent("kibana/saved-objects.ndjson"), encoding: .utf8)
        let objects = try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let titles = objects.compactMap { ($0["attributes"] as? [String: Any])?["title"] as? String }
        #expect(titles.contains("logs-*"))
        #expect(titles.contains("Error rate by service"))
        #expect(titles.contains { $0.hasPrefix("Slow requests") })
        #expect(titles.contains { $0.contains("trace.id") })
        // The error rate is a ratio (a Lens formula), not an error count.
        let rate = try #require(objects.first { $0["id"] as? String == "logship-error-rate" })
        #expect(rate["type"] as? String == "lens")
        let rateText = String(decoding: try JSONSerialization.data(withJSONObject: rate, options: .withoutEscapingSlashes), as: UTF8.self)
        #expect(rateText.contains("count(kql='log.level: ERROR or log.level: CRITICAL') / count()"))
        // Slow requests by endpoint and status: event.duration (ns) over 1 s.
        let slow = try #require(objects.first { $0["id"] as? String == "logship-slow-endpoints" })
        let slowText = String(decoding: try JSONSerialization.data(withJSONObject: slow, options: .withoutEscapingSlashes), as: UTF8.self)
        #expect(slowText.contains("event.duration > 1000000000") && slowText.contains("url.path") && slowText.contains("http.response.status_code"))
        // One dashboard holds them and the trace search; every reference resolves to an object here.
        let dashboard = try #require(objects.first { $0["type"] as? String == "dashboard" })
        let ids = Set(objects.compactMap { $0["id"] as? String })
        let references = dashboard["references"] as? [[String: Any]] ?? []
        #expect(Set(references.compactMap { $0["id"] as? String }).isSuperset(of: ["logship-error-rate", "logship-slow-endpoints", "logship-trace"]))
        for object in objects {
            for reference in object["references"] as? [[String: Any]] ?? [] {
                #expect(ids.contains(reference["id"] as? String ?? ""), "\(object["id"] ?? ""): \(reference)")
            }
        }
        let panels = try #require((dashboard["attributes"] as? [String: Any])?["panelsJSON"] as? String)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(panels.utf8)) as? [[String: Any]])
        #expect(parsed.count == references.count)
    }
}
