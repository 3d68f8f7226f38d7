import Foundation

/// Runs a command to completion and captures its output. For tests and benchmarks.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public enum Subprocess {
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           stdin: String? = nil, timeout: TimeInterval = 300) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : try which(executable))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let outURL = FileManager.default.temporaryDirectory.appendingPathComponent("logship-out-\(UUID().uuidString)")
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("logship-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        process.standardOutput = outHandle
        process.standardError = errHandle
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? outHandle.close()
        try? errHandle.close()
        return ProcessResult(status: process.terminationStatus,
                             stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                             stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    public static func which(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestBackendError("\(name) not found on PATH; run cluster/bootstrap")
    }
}

/// Test runners block signals in their threads, and a child inherits the blocked mask through
/// fork and exec: a server started directly would ignore SIGTERM and could only be SIGKILLed.
/// Children are started through this launcher, which clears the mask and execs the program.
public enum SignalReset {
    public static let launcher = "/usr/bin/env"

    public static func arguments(_ executable: String, _ arguments: [String]) -> [String] {
        ["python3", "-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])",
         executable] + arguments
    }
}

extension SignalReset {
    /// Starts a long-running child with signals unblocked, its output appended to `log`, and
    /// registers it to be killed if the test process exits first.
    public static func launch(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                              log: URL) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: launcher)
        process.arguments = Self.arguments(executable, arguments)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        BackendRegistry.shared.add(process.processIdentifier)
        return process
    }

    /// Stops a launched child: SIGTERM and `grace` seconds to exit (nil: SIGKILL at once), then
    /// SIGKILL. Returns its exit status, or nil when it had to be killed.
    @discardableResult
    public static func stop(_ process: Process, grace: TimeInterval?) -> Int32? {
        defer { BackendRegistry.shared.remove(process.processIdentifier) }
        guard process.isRunning else { return process.terminationStatus }
        if let grace {
            process.terminate()
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        }
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return nil
    }
}

public struct TestBackendError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Waits for a condition instead of sleeping a fixed time.
public func waitUntil(timeout: TimeInterval, interval: TimeInterval = 0.05, _ what: String,
                      _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: interval)
    }
    throw TestBackendError("timed out after \(timeout) s waiting for \(what)")
}
