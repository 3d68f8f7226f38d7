import Coordinator
import Foundation
import KafkaClient
import LogModel
import Testing
import TestSupport

@Suite struct HealthRulesTests {
    static func beat(_ id: String, role: String = "indexer", agoMs: Int64, status: String = "up", now: Int64) -> ComponentBeat {
        ComponentBeat(id: id, role: role, host: "h", version: "0.1.0", startedAt: Timestamps.format(epochMillis: now - 60_000),
                      sentAt: Timestamps.format(epochMillis: now - agoMs), status: status, intervalMs: 5_000)
    }

    @Test func staleAfterThreeMissedBeatsAndTheVerdict() {
        let now: Int64 = 1_795_000_000_000
        let components = HealthRules.components([Self.beat("a", agoMs: 15_000, now: now), Self.beat("b", agoMs: 15_001, now: now),
                                                 Self.beat("c", agoMs: 1, status: "stopped", now: now)], nowMs: now)
        #expect(components.map(\.status) == ["up", "stale", "stopped"])
        let ok = ClusterReport.Backend(reachable: true, status: "green", detail: "")
        #expect(HealthRules.verdict(components: [components[0]], kafka: ok, elasticsearch: ok, groups: []).status == "healthy")
        let degraded = HealthRules.verdict(components: components, kafka: ok, elasticsearch: ok, groups: [])
        #expect(degraded.status == "degraded" && degraded.reasons == ["indexer b on h is stale (last seen \(components[1].lastSeen))"])
        #expect(HealthRules.verdict(components: [components[1]], kafka: ok, elasticsearch: ok, groups: []).status == "down", "no indexer up")
        let noKafka = ClusterReport.Backend(reachable: false, status: "unreachable", detail: "refused")
        #expect(HealthRules.verdict(components: [components[0]], kafka: noKafka, elasticsearch: ok, groups: []).reasons == ["Kafka unreachable: refused"])
    }

    @Test func componentsSilentBeyondTheExpiryAreForgotten() {
        let now: Int64 = 1_795_000_000_000
        let beats = [Self.beat("recent", agoMs: 20_000, now: now), Self.beat("old", agoMs: 600_001, now: now),
                     Self.beat("gone", agoMs: 700_000, status: "stopped", now: now)]
        #expect(HealthRules.components(beats, nowMs: now, expiryMs: 600_000).map(\.id) == ["recent"])
        #expect(HealthRules.components(beats, nowMs: now).count == 3, "no expiry: every component")
    }

    /// A component that beats `stalled` is shown stalled with its reason and makes the cluster
    /// degraded (it is there, so not down); a stalled beat gone old is stale like any other.
    @Test func aStalledComponentDegradesTheClusterWithItsReason() {
        let now: Int64 = 1_795_000_000_000
        var stalled = Self.beat("a", agoMs: 1_000, status: "stalled", now: now)
        stalled.statusReason = "no record fetched or indexed for 61 s while Elasticsearch answers and 1 owned partition(s) have lag: logs.payment[0] lag 10 fetching"
        var old = Self.beat("b", agoMs: 20_000, status: "stalled", now: now)
        old.statusReason = "whatever"
        let components = HealthRules.components([stalled, old], nowMs: now)
        #expect(components.map(\.status) == ["stalled", "stale"])
        #expect(components[0].statusReason == stalled.statusReason && components[1].statusReason == nil)
        let ok = ClusterReport.Backend(reachable: true, status: "green", detail: "")
        let verdict = HealthRules.verdict(components: [components[0]], kafka: ok, elasticsearch: ok, groups: [])
        #expect(verdict.status == "degraded")
        #expect(verdict.reasons == ["indexer a on h is stalled: \(stalled.statusReason!)"])
        // The beat's JSON keeps the reason under its contract name.
        let json = String(decoding: try! JSONEncoder().encode(stalled), as: UTF8.self)
        #expect(json.contains("\"status_reason\":") && json.contains("\"status\":\"stalled\""))
    }

    @Test func scalingAdvice() {
        #expect(HealthRules.advice(role: "indexer", members: 2, partitions: 12, trendPerMinute: 5_000, lag: 80_000)
                == "indexer group: 2 members, 12 partitions, lag rising 5k/min — add indexers")
        #expect(HealthRules.advice(role: "indexer", members: 4, partitions: 3, trendPerMinute: nil, lag: 0)
                == "indexer group: 4 members, 3 partitions — 1 member(s) idle; add partitions to use them")
        #expect(HealthRules.advice(role: "indexer", members: 3, partitions: 3, trendPerMinute: -100, lag: 10) == nil)
    }
}

/// `logship coordinator` and `logship status` against noida-db with three indexers.
@Suite(.serialized) struct CoordinatorTests {
    static func get(_ url: String) -> [String: Any]? {
        guard let out = try? Subprocess.run("curl", ["-s", "--max-time", "5", url], timeout: 10).stdout else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
    }

    static func components(_ base: String) -> [String: String] {
        guard let out = try? Subprocess.run("curl", ["-s", "--max-time", "5", base + "/api/v1/components"], timeout: 10).stdout,
              let list = try? JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]] else { return [:] }
        return Dictionary(list.compactMap { c in (c["id"] as? String).map { ($0, c["status"] as? String ?? "") } }) { a, _ in a }
    }

    @Test func aKilledIndexerTurnsStaleAndTheClusterDegradedUntilItIsBack() throws {
        let noida = try NoidaDB.start()
        defer { noida.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coordinator-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ports = try (0..<2).map { _ in try FreePort.next() }
        let config = dir.appendingPathComponent("logship.yml")
        // One Elasticsearch node: replicas 0, or its health is yellow (as a single-node ES 8's is).
        try """
        kafka: {brokers: ["\(noida.kafkaBootstrap)"], partitions: 2}
        elasticsearch: {url: "\(noida.elasticsearchURL)", index: {replicas: 0}}
        indexer: {flush_interval: 200ms}
        coordinator: {heartbeat_interval: 1s, listen: "127.0.0.1:\(ports[0])"}
        services: {shop: {owner: "@shop-oncall"}}
        """.write(to: config, atomically: true, encoding: .utf8)
        let records = (0..<200).map { n in (topic: "logs.shop", value: Array(#"{"@timestamp":"\#(Timestamps.format(epochMillis: Int64(Date().timeIntervalSince1970 * 1000)))","message":"m\#(n)","service":{"name":"shop"},"log":{"level":"INFO"},"event":{"id":"\#(String(format: "%032x", n))"}}"#.utf8)) }
        let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: KafkaConfiguration(brokers: [noida.kafkaBootstrap], properties: ["log_level": "0"]),
                                                                    createTopicsWithPartitions: 2))
        for record in records { try producer.enqueue(topic: record.topic, key: nil, value: record.value) { _ in } }
        #expect(producer.flushBlocking(timeoutMs: 30_000))

        func indexer(_ n: Int) -> RoleProcess {
            RoleProcess(["indexer", "--config", config.path, "--component-id", "indexer-\(n)"], log: dir.appendingPathComponent("indexer-\(n)-\(UUID().uuidString.prefix(4)).log"))
        }
        var indexers = (0..<3).map(indexer)
        for i in indexers { try i.start() }
        defer { for i in indexers { _ = i.terminate() } }
        let first = RoleProcess(["coordinator", "--config", config.path], log: dir.appendingPathComponent("coordinator-1.log"))
        try first.start()
        defer { _ = first.terminate() }
        let base = "http://127.0.0.1:\(ports[0])"
        try waitUntil(timeout: 90, interval: 0.5, "three indexers up and the cluster healthy (\(dir.path))") {
            Self.components(base).filter { $0.value == "up" }.count == 3 && Self.get(base + "/api/v1/cluster")?["status"] as? String == "healthy"
        }
        let status = try LogshipBinary.run(["status", "--config", config.path])
        #expect(status.status == 0 && status.stdout.contains("cluster healthy"), "\(status.stdout)\(status.stderr)")

        indexers[1].kill9()
        let killed = Date()
        try waitUntil(timeout: 30, interval: 0.2, "indexer-1 to show as stale") { Self.components(base)["indexer-1"] == "stale" }
        #expect(Date().timeIntervalSince(killed) <= 3 * 1 + 2, "stale within 3 heartbeat intervals (+ one refresh)")
        try waitUntil(timeout: 10, interval: 0.2, "the cluster to turn degraded") { Self.get(base + "/api/v1/cluster")?["status"] as? String == "degraded" }
        let degraded = try LogshipBinary.run(["status", "--config", config.path, "--json"])
        #expect(degraded.status == 3, "\(degraded.stdout)")
        #expect(degraded.stdout.contains("indexer-1"))

        // A second coordinator, started later, gives the same answer and the same components.
        let second = RoleProcess(["coordinator", "--config", config.path, "--listen", "127.0.0.1:\(ports[1])"], log: dir.appendingPathComponent("coordinator-2.log"))
        try second.start()
        defer { _ = second.terminate() }
        let other = "http://127.0.0.1:\(ports[1])"
        try waitUntil(timeout: 30, interval: 0.3, "both coordinators to agree") {
            guard let a = Self.get(base + "/api/v1/cluster"), let b = Self.get(other + "/api/v1/cluster") else { return false }
            return a["status"] as? String == "degraded" && a["status"] as? String == b["status"] as? String
                && (a["reasons"] as? [String]) == (b["reasons"] as? [String]) && Self.components(base) == Self.components(other)
        }

        // /metrics parses with the reference parser and carries lag and component counts.
        let scraped = try PythonScript.run("scrape_prometheus.py", [base + "/metrics"])
        let metrics = try #require(try JSONSerialization.jsonObject(with: Data(scraped.utf8)) as? [String: Double])
        #expect(metrics[#"logship_components{role="indexer",status="stale"}"#] == 1)
        #expect(metrics[#"logship_components{role="indexer",status="up"}"#] == 2)
        #expect(metrics.keys.contains { $0.hasPrefix("logship_consumer_lag{group=\"logship-indexer\",partition=\"0\",topic=\"logs.shop\"") })
        #expect(metrics[#"logship_cluster_status{status="degraded"}"#] == 1)
        #expect(metrics[#"logship_cluster_status{status="healthy"}"#] == 0)
        #expect(metrics[#"logship_build_info{role="coordinator",version="0.1.0"}"#] == 1)

        // indexer-1 restarted: up again, healthy again.
        indexers[1] = indexer(1)
        try indexers[1].start()
        try waitUntil(timeout: 60, interval: 0.3, "the cluster to be healthy again") {
            Self.components(base)["indexer-1"] == "up" && Self.get(base + "/api/v1/cluster")?["status"] as? String == "healthy"
        }
        #expect(try LogshipBinary.run(["status", "--coordinator", base]).status == 0)

        // A restarted coordinator knows every component from Kafka at once.
        #expect(second.terminate() == 0)
        let restarted = RoleProcess(["coordinator", "--config", config.path, "--listen", "127.0.0.1:\(ports[1])"], log: dir.appendingPathComponent("coordinator-3.log"))
        try restarted.start()
        // Its first view, not the 503 it answers before its first refresh ({"error": ...} parses too).
        try waitUntil(timeout: 30, interval: 0.2, "the restarted coordinator's first view") { Self.get(other + "/api/v1/cluster")?["status"] != nil }
        #expect(Set(Self.components(other).keys).isSuperset(of: ["indexer-0", "indexer-1", "indexer-2"]))
        // With a token, the API and /metrics want it; /health does not.
        #expect(restarted.terminate() == 0)
        let guarded = RoleProcess(["coordinator", "--config", config.path, "--listen", "127.0.0.1:\(ports[1])"], log: dir.appendingPathComponent("coordinator-4.log"))
        try guarded.start(environment: ["LOGSHIP_COORDINATOR_TOKEN": "s3cret-token"])
        defer { _ = guarded.terminate() }
        func code(_ path: String, _ headers: [String] = []) -> String {
            (try? Subprocess.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}"] + headers.flatMap { ["-H", $0] } + [other + path], timeout: 10).stdout) ?? ""
        }
        try waitUntil(timeout: 30, interval: 0.2, "the guarded coordinator to answer") { code("/health") == "200" }
        #expect(code("/api/v1/cluster") == "401" && code("/metrics") == "401")
        try waitUntil(timeout: 10, interval: 0.2, "an authorised answer") { code("/api/v1/cluster", ["Authorization: Bearer s3cret-token"]) == "200" }
        // Without any coordinator, `status` computes the same view itself.
        let direct = try LogshipBinary.run(["status", "--config", config.path, "--coordinator", "http://127.0.0.1:1", "--json"])
        #expect(direct.stdout.contains("\"source\" : \"direct\"") && direct.status == 0, "\(direct.stdout)\(direct.stderr)")
    }

    /// Restarts leave no ghosts: an indexer's default id (role, host, instance) survives a
    /// SIGKILL and restart, so the cluster is healthy again within three heartbeats; one that
    /// never comes back is stale, then forgotten after coordinator.stale_expiry.
    @Test func aRestartedIndexerKeepsItsIdAndAGoneOneExpires() throws {
        let noida = try NoidaDB.start()
        defer { noida.destroy() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("coordinator-ids-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try FreePort.next()
        let config = dir.appendingPathComponent("logship.yml")
        try """
        kafka: {brokers: ["\(noida.kafkaBootstrap)"], partitions: 2}
        elasticsearch: {url: "\(noida.elasticsearchURL)", index: {replicas: 0}}
        coordinator: {heartbeat_interval: 1s, stale_expiry: 8s, listen: "127.0.0.1:\(port)"}
        """.write(to: config, atomically: true, encoding: .utf8)
        func indexer(_ instance: String) -> RoleProcess {
            RoleProcess(["indexer", "--config", config.path, "--instance-id", instance], log: dir.appendingPathComponent("indexer-\(instance)-\(UUID().uuidString.prefix(4)).log"))
        }
        let host = ProcessInfo.processInfo.hostName
        let (a, b) = ("indexer@\(host)/a", "indexer@\(host)/b")
        var first = indexer("a"), second = indexer("b")
        try first.start()
        try second.start()
        defer { first.kill9(); second.kill9() }
        let coordinator = RoleProcess(["coordinator", "--config", config.path], log: dir.appendingPathComponent("coordinator.log"))
        try coordinator.start()
        defer { _ = coordinator.terminate() }
        let base = "http://127.0.0.1:\(port)"
        try waitUntil(timeout: 90, interval: 0.3, "both indexers up, healthy (\(dir.path))") {
            Self.components(base) == [a: "up", b: "up"] && Self.get(base + "/api/v1/cluster")?["status"] as? String == "healthy"
        }
        // SIGKILL and restart with the same instance: the same id, healthy within three intervals.
        first.kill9()
        first = indexer("a")
        try first.start()
        let restarted = Date()
        try waitUntil(timeout: 30, interval: 0.2, "the restarted indexer up under its id") {
            Self.components(base) == [a: "up", b: "up"] && Self.get(base + "/api/v1/cluster")?["status"] as? String == "healthy"
        }
        #expect(Date().timeIntervalSince(restarted) <= 3 * 1 + 2, "healthy within three heartbeat intervals (+ a refresh)")
        // b gone for good: stale (degraded), then forgotten after the expiry (healthy, not listed).
        second.kill9()
        try waitUntil(timeout: 30, interval: 0.2, "b stale") { Self.components(base)[b] == "stale" }
        #expect(Self.get(base + "/api/v1/cluster")?["status"] as? String == "degraded")
        try waitUntil(timeout: 30, interval: 0.2, "b forgotten") { Self.components(base) == [a: "up"] }
        #expect(Self.get(base + "/api/v1/cluster")?["status"] as? String == "healthy")
        // …and a tombstone (a null value under b's key) on the compacted logship.health.
        try waitUntil(timeout: 20, "b's tombstone") {
            let health = try Subprocess.run("kcat", ["-b", noida.kafkaBootstrap, "-C", "-t", "logship.health", "-e", "-q", "-Z", "-f", "%k\t%s\n"])
            return health.stdout.split(separator: "\n").last { $0.hasPrefix(b + "\t") } == Substring(b + "\tNULL")
        }
    }
}
