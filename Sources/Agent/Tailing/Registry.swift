import Foundation

/// What the agent remembers of a file: how far Kafka has acknowledged it.
public struct RegistryEntry: Codable, Sendable, Equatable {
    /// Fingerprint of the file's first line: the file's identity across renames.
    public var identity: String
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    /// Every byte before this offset is in Kafka (acknowledged).
    public var offset: Int64
    /// Seconds since the epoch of the last update.
    public var updated: Double
}

/// The on-disk registry: one JSON file, replaced atomically (temp file, fsync, rename, fsync of
/// the directory), so a crash leaves the old version or the new one, never a torn file.
public final class Registry: @unchecked Sendable {
    public let url: URL
    public private(set) var entries: [String: RegistryEntry] = [:]

    public init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        url = URL(fileURLWithPath: directory).appendingPathComponent("registry.json")
        if let data = FileManager.default.contents(atPath: url.path), !data.isEmpty {
            do {
                let list = try JSONDecoder().decode([RegistryEntry].self, from: data)
                entries = Dictionary(list.map { ($0.identity, $0) }, uniquingKeysWith: { a, b in a.offset >= b.offset ? a : b })
            } catch {
                throw AgentError("registry \(url.path) is unreadable (\(error)); move it aside to start over")
            }
        }
    }

    public func update(_ entry: RegistryEntry) {
        if let existing = entries[entry.identity], existing.offset > entry.offset, existing.inode == entry.inode { return }
        entries[entry.identity] = entry
    }

    public func remove(_ identity: String) { entries.removeValue(forKey: identity) }

    public func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(entries.values.sorted { $0.identity < $1.identity })
        let temp = url.path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw AgentError("cannot write \(temp): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0 else { throw AgentError("cannot write \(temp): \(String(cString: strerror(errno)))") }
        guard rename(temp, url.path) == 0 else { throw AgentError("cannot replace \(url.path): \(String(cString: strerror(errno)))") }
        let dir = open(url.deletingLastPathComponent().path, O_RDONLY)
        if dir >= 0 { fsync(dir); close(dir) }
    }
}

public struct AgentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
