import ElasticClient
import Foundation
import KafkaClient
import LogModel
import Synchronization
import TestSupport

/// Shared pieces of the indexer tests: events with known ids, a config file, group lag.
struct IndexerFixture {
    let dir: URL
    let kafka: String
    let elasticsearch: String

    init(kafka: String, elasticsearch: String) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("indexer-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.kafka = kafka
        self.elasticsearch = elasticsearch
    }

    /// `sessionTimeoutMs`: 6 s makes a SIGKILLed member's partitions move quickly; an outage of
    /// Kafka longer than it costs a rebalance.
    /// `batchWait`: by default the flush interval, so a batch is held that long even when the
    /// indexer has caught up (tests that need a batch in hand); the product's default is 50 ms.
    func writeConfig(batch: Int = 500, flushInterval: String = "300ms", batchWait: String? = nil, assignor: String = "range,roundrobin",
                     sessionTimeoutMs: Int = 6_000, stallTimeout: String = "60s", extra: String = "") throws -> String {
        let path = dir.appendingPathComponent("logship.yml").path
        try """
        kafka: {brokers: ["\(kafka)"], partitions: 3, assignor: "\(assignor)", properties: {session.timeout.ms: "\(sessionTimeoutMs)", max.poll.interval.ms: "\(2 * sessionTimeoutMs)"}}
        elasticsearch: {url: "\(elasticsearch)", timeout: 10s}
        indexer: {batch_documents: \(batch), flush_interval: \(flushInterval), batch_wait: \(batchWait ?? flushInterval), stall_timeout: \(stallTimeout)}
        coordinator: {heartbeat_interval: 1s}
        \(extra)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A fixture whose Elasticsearch URL is `url` (a fault proxy) instead of the server's.
    func through(_ url: String) -> IndexerFixture { IndexerFixture(dir: dir, kafka: kafka, elasticsearch: url) }

    private init(dir: URL, kafka: String, elasticsearch: String) {
        self.dir = dir
        self.kafka = kafka
        self.elasticsearch = elasticsearch
    }

    func indexer(_ name: String, config: String, metricsPort: Int? = nil, staticMember: Bool = false) -> RoleProcess {
        var arguments = ["indexer", "--config", config, "--component-id", name, "--log-level", "info"]
        if staticMember { arguments += ["--instance-id", name] }
        if let metricsPort { arguments += ["--metrics-listen", "127.0.0.1:\(metricsPort)"] }
        return RoleProcess(arguments, log: dir.appendingPathComponent("\(name).log"))
    }

    /// An event as the agent writes it; `n` decides the id, so equal `n` means a repeat.
    static func event(service: String, n: Int, day: String = Self.today) -> [UInt8] {
        Array("""
        {"@timestamp":"\(day)T10:00:00.000Z","message":"\(service) event \(n)","service":{"name":"\(service)"},"log":{"level":"INFO"},"event":{"id":"\(String(format: "%032x", n + service.hashValueStable * 1_000_000))"}}
        """.utf8)
    }

    static var today: String { String(Timestamps.format(epochMillis: Int64(Date().timeIntervalSince1970 * 1000)).prefix(10)) }

    /// Produces records and waits for every delivery report; returns how many were acknowledged.
    /// `createTopics: false` for the mock cluster, which does not answer CreateTopics.
    static func produce(_ records: [(topic: String, value: [UInt8])], brokers: String, createTopics: Bool = true,
                        partitions: Int = 3) throws -> Int {
        let producer = try KafkaProducer(KafkaProducerConfiguration(
            kafka: KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"]), maxInFlight: 20_000,
            createTopicsWithPartitions: createTopics ? partitions : nil))
        let acked = Mutex(0)
        for record in records {
            try producer.enqueue(topic: record.topic, key: nil, value: record.value) { result in
                if case .success = result { acked.withLock { $0 += 1 } }
            }
        }
        guard producer.flushBlocking(timeoutMs: 60_000) else { throw TestBackendError("produce did not finish") }
        return acked.withLock { $0 }
    }

    /// Total lag of a group over topics: log end minus committed (from the log start when none).
    static func groupLag(_ group: String, topics: [String], brokers: String) throws -> Int64 {
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"]))
        var lag: Int64 = 0
        for topic in topics {
            let partitions = try admin.metadata().topics.first { $0.name == topic }?.partitions.map { TopicPartition(topic, $0.id) } ?? []
            let committed = try admin.committedOffsets(group: group, partitions: partitions)
            for tp in partitions {
                let marks = try admin.watermarks(tp)
                lag += marks.high - ((committed[tp] ?? nil) ?? marks.low)
            }
        }
        return lag
    }

    static func committed(_ group: String, topic: String, brokers: String) throws -> [TopicPartition: Int64?] {
        let admin = try KafkaAdmin(KafkaConfiguration(brokers: [brokers], properties: ["log_level": "0"]))
        let partitions = try admin.metadata().topics.first { $0.name == topic }?.partitions.map { TopicPartition(topic, $0.id) } ?? []
        return try admin.committedOffsets(group: group, partitions: partitions)
    }

    func count(_ service: String) throws -> Int {
        let es = try ElasticClient(ElasticConfiguration(url: elasticsearch))
        guard (try? es.refresh("logs-\(service)-*")) != nil else { return 0 }
        return (try? es.count("logs-\(service)-*")) ?? 0
    }

    /// Documents a search finds now, without asking for a refresh first.
    func searchableCount(_ service: String) throws -> Int {
        (try? ElasticClient(ElasticConfiguration(url: elasticsearch)).count("logs-\(service)-*")) ?? 0
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }
}

extension String {
    /// A small stable hash (Swift's hashValue is seeded per process).
    var hashValueStable: Int { Int(utf8.reduce(UInt32(7)) { $0 &* 31 &+ UInt32($1) } % 1000) }
}

/// A helper server from Tests/Scripts run with python3 on a free loopback port, stopped by its pid.
class ScriptServer {
    let port: Int
    let process = Process()

    init(_ script: String, arguments: (Int) -> [String]) throws {
        port = try FreePort.next()
        process.executableURL = URL(fileURLWithPath: try Subprocess.which("python3"))
        process.arguments = [PythonScript.path(script)] + arguments(port)
        process.standardOutput = Pipe()
        try process.run()
        try waitUntil(timeout: 20, "\(script) to listen") { FreePort.isListening(port) }
    }

    /// SIGKILL: the test runner's blocked signal mask is inherited, so SIGTERM would not stop it.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// `Tests/Scripts/bulk_429_proxy.py` in front of an Elasticsearch: a fake for faults no real
/// server here produces on cue (429 items, a 429 storm, a bulk held in flight).
final class ElasticFaultProxy: ScriptServer {
    var url: String { "http://127.0.0.1:\(port)" }

    init(upstream: String, passthrough: Bool) throws {
        try super.init("bulk_429_proxy.py") { [String($0), upstream] + (passthrough ? ["--passthrough"] : []) }
    }

    /// POST /__storm/on … (see the script).
    func control(_ path: String) throws {
        let result = try Subprocess.run("curl", ["-sf", "-X", "POST", url + path], timeout: 10)
        guard result.status == 0 else { throw TestBackendError("proxy control \(path) failed: \(result.stderr)") }
    }

    func state(_ path: String) throws -> [String: Any] {
        let body = try Subprocess.run("curl", ["-sf", url + path], timeout: 10).stdout
        return (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
    }
}

/// `Tests/Scripts/tls_proxy.py`: HTTPS in front of noida-db (which has no TLS), with a CA and
/// a certificate for 127.0.0.1 made by openssl for this test.
final class TLSProxy: ScriptServer {
    let caFile: String
    var url: String { "https://127.0.0.1:\(port)" }

    init(upstream: String, dir: URL) throws {
        let ca = dir.appendingPathComponent("ca.crt").path
        let run = { (arguments: [String]) throws in
            let result = try Subprocess.run("openssl", arguments, timeout: 60)
            guard result.status == 0 else { throw TestBackendError("openssl \(arguments.first ?? ""): \(result.stderr)") }
        }
        let path = { (name: String) in dir.appendingPathComponent(name).path }
        try run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path("ca.key"), "-out", ca, "-days", "2",
                 "-subj", "/CN=logship test CA"])
        try run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=127.0.0.1"])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("ext.cnf"), atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", path("server.csr"), "-CA", ca, "-CAkey", path("ca.key"), "-CAcreateserial",
                 "-out", path("server.crt"), "-days", "2", "-extfile", path("ext.cnf")])
        caFile = ca
        try super.init("tls_proxy.py") { [String($0), upstream, path("server.crt"), path("server.key")] }
    }
}

/// Kafka for a fault test: librdkafka's 3-broker mock cluster or noida-db, with one way to take
/// it away and bring it back.
final class TestKafka {
    enum Backend: String, CaseIterable, Sendable { case mock, noida }

    let backend: Backend
    private let mock: KafkaMockCluster?
    private let noida: NoidaDB?
    let bootstrap: String
    let partitions: Int

    /// Topics are made up front (the mock cluster refuses CreateTopics over the protocol).
    init(_ backend: Backend, services: [String], partitions: Int = 6) throws {
        self.backend = backend
        self.partitions = partitions
        switch backend {
        case .mock:
            let cluster = try KafkaMockCluster(brokers: 3)
            for service in services { try cluster.createTopic("logs.\(service)", partitions: partitions, replicationFactor: 3) }
            try cluster.createTopic("logs.dlq", partitions: 1, replicationFactor: 3)
            try cluster.createTopic("logship.health", partitions: 1, replicationFactor: 3)
            mock = cluster
            noida = nil
            bootstrap = cluster.bootstrapServers
        case .noida:
            let server = try NoidaDB.start(services: ["kafka"])
            mock = nil
            noida = server
            bootstrap = server.kafkaBootstrap
        }
    }

    var createsTopics: Bool { backend == .noida }

    /// Every broker down (mock), or the server stopped with SIGTERM (noida-db keeps its data).
    func takeDown() throws {
        if let mock { for id in 1...Int32(mock.brokerCount) { try mock.setBrokerDown(id) } }
        noida?.stop()
    }

    func bringUp() throws {
        if let mock { for id in 1...Int32(mock.brokerCount) { try mock.setBrokerUp(id) } }
        try noida?.start()
    }

    func produce(_ records: [(topic: String, value: [UInt8])]) throws -> Int {
        try IndexerFixture.produce(records, brokers: bootstrap, createTopics: createsTopics, partitions: partitions)
    }

    func lag(_ topics: [String]) throws -> Int64 { try IndexerFixture.groupLag("logship-indexer", topics: topics, brokers: bootstrap) }

    func destroy() { noida?.destroy() }
}

/// logs.dlq read with kcat: each dead letter's headers and value, and the letters by source
/// record (`source.topic/partition/offset`). Dead letters are at least once: a member that
/// loses its partitions (killed, evicted after an outage) between writing them and committing
/// writes them again on re-delivery, so a source record is counted once by its coordinates.
struct DeadLetters {
    var total = 0
    var bySource: [String: (headers: [String: String], value: String)] = [:]

    static func read(brokers: String) throws -> DeadLetters {
        let output = try Subprocess.run("kcat", ["-b", brokers, "-C", "-t", "logs.dlq", "-o", "beginning", "-e", "-q",
                                                 "-f", "%h\t%s\n"], timeout: 60).stdout
        var letters = DeadLetters()
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            letters.total += 1
            // kcat prints headers as k=v,k=v; error.reason, last, may itself hold commas.
            let headers = Dictionary(parts[0].split(separator: ",").compactMap { pair -> (String, String)? in
                let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                return kv.count == 2 ? (kv[0], kv[1]) : nil
            }) { a, _ in a }
            letters.bySource["\(headers["source.topic"] ?? "")/\(headers["source.partition"] ?? "")/\(headers["source.offset"] ?? "")"] = (headers, parts[1])
        }
        return letters
    }
}
