import Coordinator
import Foundation
import LogshipConfig
import Testing
import TestSupport

/// The coordinator built from its configuration and run, with its HTTP server, in the test's
/// ServiceGroup against noida-db; a graceful shutdown stops both.
@Suite struct CoordinatorInProcessTests {
    @Test func inProcessCoordinatorServesAndStops() async throws {
        let server = try NoidaDB.start()
        defer { server.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coord-inproc-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try FreePort.next()
        let config = dir.appendingPathComponent("logship.yml").path
        try """
        kafka: {brokers: ["\(server.kafkaBootstrap)"]}
        elasticsearch: {url: "\(server.elasticsearchURL)"}
        coordinator: {listen: "127.0.0.1:\(port)"}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(path: config)
        let service = try CoordinatorService(configuration: configuration, logger: .init(label: "test"))
        let http = try #require(CoordinatorServer(service: service, listen: configuration.coordinator.listen, token: nil, logger: .init(label: "test")))
        let running = InProcessRole(service, name: "coordinator", servers: [http], deadline: .seconds(10))
        var health = ""
        try waitUntil(timeout: 30, "the first refresh (health: \(health))") {
            health = (try? Subprocess.run("curl", ["-s", "http://127.0.0.1:\(port)/health"], timeout: 5).stdout) ?? ""
            return ["healthy\n", "degraded\n", "down\n"].contains(health)
        }
        let status = health.trimmingCharacters(in: .newlines)
        let scraped = try ScrapedMetrics.scrape("http://127.0.0.1:\(port)/metrics")
        for state in ["healthy", "degraded", "down"] {
            #expect(scraped.samples["logship_cluster_status{status=\"\(state)\"}"] == (state == status ? 1 : 0), "one state is 1: \(status)")
        }
        #expect(scraped.samples[#"logship_backend_up{backend="kafka"}"#] == 1)
        #expect(scraped.samples[#"logship_build_info{role="coordinator",version="0.1.0"}"#] == 1)
        try await running.stop()
        #expect(!FreePort.isListening(port), "the HTTP server stopped with the group")
    }
}
