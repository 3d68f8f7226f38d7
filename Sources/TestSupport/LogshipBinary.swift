import Foundation

/// The `logship` executable built beside the test bundle (or `LOGSHIP_BIN`), run as an operator would.
public enum LogshipBinary {
    public static func path() throws -> String {
        if let path = ProcessInfo.processInfo.environment["LOGSHIP_BIN"] { return path }
        return try built("logship")
    }

    /// `logship-agent`, the agent's own binary (`LOGSHIP_AGENT_BIN`, or built beside the tests).
    public static func agentPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["LOGSHIP_AGENT_BIN"] { return path }
        return try built("logship-agent")
    }

    private static func built(_ name: String) throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestBackendError("\(name) binary not found next to \(CommandLine.arguments[0]); run swift build first")
    }

    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> ProcessResult {
        try Subprocess.run(try path(), arguments, environment: environment, timeout: timeout)
    }
}
