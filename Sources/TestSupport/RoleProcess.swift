import Foundation
import Synchronization

/// A logship role (`logship agent`, `logship indexer`, …) run as its own process, as operators
/// run it: started with a config file, stopped by SIGTERM or killed by SIGKILL, by its own pid.
public final class RoleProcess: Sendable {
    public let arguments: [String]
    public let logURL: URL
    /// The executable: `logship` unless given (`logship-agent`, say).
    private let executable: String?
    private let running = Mutex<Process?>(nil)
    private var process: Process? { running.withLock { $0 } }

    /// Takes the running process out (terminate and kill9 end it).
    private func take() -> Process? { running.withLock { slot in defer { slot = nil }; return slot } }

    public init(_ arguments: [String], log: URL, executable: String? = nil) {
        self.arguments = arguments
        logURL = log
        self.executable = executable
    }

    public var pid: Int32? { process?.processIdentifier }
    public var isRunning: Bool { process?.isRunning ?? false }

    public func start(environment: [String: String] = [:]) throws {
        let process = try SignalReset.launch(try executable ?? LogshipBinary.path(), arguments, environment: environment, log: logURL)
        running.withLock { $0 = process }
    }

    /// SIGTERM and wait; returns the exit status (nil if it had to be killed after `timeout`).
    @discardableResult
    public func terminate(timeout: TimeInterval = 30) -> Int32? {
        guard let process = take() else { return nil }
        return SignalReset.stop(process, grace: timeout)
    }

    /// Sends `signal` (SIGHUP, say) and returns at once.
    public func send(_ signal: Int32) {
        if let pid { kill(pid, signal) }
    }

    public func kill9() {
        guard let process = take() else { return }
        SignalReset.stop(process, grace: nil)
    }

    /// Resident memory in bytes, from /proc.
    public var residentBytes: Int? {
        guard let pid, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
        return kb * 1024
    }

    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// The log's error- and critical-level lines (swift-log's stream format: `<time> <level> …`).
    public var errorLines: [Substring] {
        log.split(separator: "\n").filter { line in
            let fields = line.split(separator: " ", maxSplits: 2)
            return fields.count > 1 && (fields[1] == "error" || fields[1] == "critical")
        }
    }

    /// SIGTERM and wait, timed: the exit status (nil if killed after `timeout`) and the seconds it took.
    public func terminateTimed(timeout: TimeInterval = 30) -> (status: Int32?, seconds: Double) {
        let started = Date()
        let status = terminate(timeout: timeout)
        return (status, Date().timeIntervalSince(started))
    }

    deinit { if process?.isRunning == true { kill9() } }
}

/// Reads a whole topic with kcat (a real, independent client): one entry per record.
public struct TopicRecord: Sendable {
    public var partition: Int
    public var offset: Int64
    public var value: String

    public var json: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any]
    }
}

public enum Kcat {
    public static func readAll(brokers: String, topic: String) throws -> [TopicRecord] {
        let result = try Subprocess.run("kcat", ["-b", brokers, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                                                 "-f", "%p\t%o\t%s\n"], timeout: 120)
        guard result.status == 0 else { throw TestBackendError("kcat failed on \(topic): \(result.stderr)") }
        return result.stdout.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let p = Int(parts[0]), let o = Int64(parts[1]) else { return nil }
            return TopicRecord(partition: p, offset: o, value: String(parts[2]))
        }
    }
}

/// Runs a test helper script from Tests/Scripts with the machine's python3.
public enum PythonScript {
    public static func path(_ name: String, file: String = #filePath) -> String {
        var url = URL(fileURLWithPath: file)
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("Tests/Scripts/\(name)")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
        }
        return name
    }

    public static func run(_ name: String, _ arguments: [String], timeout: TimeInterval = 300) throws -> String {
        let result = try Subprocess.run("python3", [path(name)] + arguments, timeout: timeout)
        guard result.status == 0 else { throw TestBackendError("\(name) failed: \(result.stderr)") }
        return result.stdout
    }
}

/// A role's `/metrics`, checked by `promtool check metrics` (when installed) and parsed by
/// prometheus_client (Tests/Scripts/scrape_prometheus.py): series → value, family → type.
public struct ScrapedMetrics: Sendable {
    public let samples: [String: Double]
    public let types: [String: String]

    /// Retries for up to `timeout` seconds while the endpoint does not answer (an in-process
    /// server waits for a free thread of the test process's pool while other suites run); a
    /// lint or parse failure is not retried.
    public static func scrape(_ url: String, timeout: TimeInterval = 60) throws -> ScrapedMetrics {
        let deadline = Date().addingTimeInterval(timeout)
        var output = ""
        while true {
            do {
                output = try PythonScript.run("scrape_prometheus.py", [url, "--types"])
                break
            } catch let error as TestBackendError where error.description.contains("urlopen") || error.description.contains("http.client") {
                if Date() > deadline { throw error }
            }
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
              let samples = object["samples"] as? [String: Double], let types = object["types"] as? [String: String] else {
            throw TestBackendError("scrape_prometheus.py printed something else: \(output.prefix(200))")
        }
        return ScrapedMetrics(samples: samples, types: types)
    }
}

/// Reads a Prometheus text file into (series → value).
public enum PrometheusText {
    public static func parse(_ text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }
}
