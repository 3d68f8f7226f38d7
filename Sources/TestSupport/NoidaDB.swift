import Foundation
import Synchronization

/// A noida-db server (Kafka protocol + Elasticsearch API) on free loopback ports with a fresh
/// data directory, started for one test or script and stopped by its own pid. The packaged
/// binary is run directly, so the pid is the server's and nothing outlives `stop()`.
public final class NoidaDB: Sendable {
    public let kafkaPort: Int
    public let elasticsearchPort: Int
    public let dataDir: URL
    /// `kafka`, `elasticsearch`, or both: one server can be killed without the other.
    public let services: [String]
    private let running = Mutex<Process?>(nil)
    private let logURL: URL

    public var kafkaBootstrap: String { "127.0.0.1:\(kafkaPort)" }
    public var elasticsearchURL: String { "http://127.0.0.1:\(elasticsearchPort)" }
    public var pid: Int32? { running.withLock { $0?.processIdentifier } }

    /// Takes the running process out (stop and crash end it).
    private func take() -> Process? { running.withLock { slot in defer { slot = nil }; return slot } }

    public init(dataDir: URL? = nil, services: [String] = ["kafka", "elasticsearch"]) throws {
        self.services = services
        kafkaPort = try FreePort.next()
        var esPort = try FreePort.next()
        while esPort == kafkaPort { esPort = try FreePort.next() }
        elasticsearchPort = esPort
        self.dataDir = dataDir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("logship-noida-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: self.dataDir, withIntermediateDirectories: true)
        logURL = self.dataDir.appendingPathComponent("noida.log")
    }

    /// Starts a server and waits until both protocols answer.
    public static func start(services: [String] = ["kafka", "elasticsearch"]) throws -> NoidaDB {
        let server = try NoidaDB(services: services)
        try server.start()
        return server
    }

    public func start() throws {
        var arguments = ["start", "--only", services.joined(separator: ","), "--data-dir", dataDir.path]
        if services.contains("kafka") { arguments += ["--kafka-port", String(kafkaPort)] }
        if services.contains("elasticsearch") { arguments += ["--elasticsearch-port", String(elasticsearchPort)] }
        let process = try SignalReset.launch(try Self.binary(), arguments, log: logURL)
        running.withLock { $0 = process }
        try waitUntil(timeout: 30, "noida-db on ports \(kafkaPort)/\(elasticsearchPort) (log: \(logURL.path))") {
            guard process.isRunning else {
                throw TestBackendError("noida-db exited: \((try? String(contentsOf: logURL, encoding: .utf8)) ?? "")")
            }
            return (!services.contains("kafka") || FreePort.isListening(kafkaPort))
                && (!services.contains("elasticsearch") || FreePort.isListening(elasticsearchPort))
        }
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s); data stays for a `start()` again.
    public func stop() {
        guard let process = take() else { return }
        SignalReset.stop(process, grace: 10)
    }

    /// Kills the server without warning, as a crash would.
    public func crash() {
        guard let process = take() else { return }
        SignalReset.stop(process, grace: nil)
    }

    /// Stops the server and removes its data directory.
    public func destroy() {
        stop()
        try? FileManager.default.removeItem(at: dataDir)
    }

    deinit { destroy() }

    /// The packaged noida-db binary: `NOIDA_DB_BIN`, else the one inside the pip package.
    public static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["NOIDA_DB_BIN"] { return path }
        let found = try Subprocess.run("python3", ["-c",
            "import noida_db, os; print(os.path.join(os.path.dirname(noida_db.__file__), 'noida-db'))"])
        let path = found.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard found.status == 0, FileManager.default.isExecutableFile(atPath: path) else {
            throw TestBackendError("noida-db is not installed (pip install noida-db); run cluster/bootstrap")
        }
        return path
    }
}

/// Kills every backend still running when the test process exits, even after a failed test.
final class BackendRegistry: Sendable {
    static let shared = BackendRegistry()
    private let pids = Mutex(Set<Int32>())

    private init() {
        atexit {
            for pid in BackendRegistry.shared.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }

    func add(_ pid: Int32) { _ = pids.withLock { $0.insert(pid) } }
    func remove(_ pid: Int32) { _ = pids.withLock { $0.remove(pid) } }
}
