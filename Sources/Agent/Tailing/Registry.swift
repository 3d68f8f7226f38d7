import Foundation
import LogModel
import Synchronization

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
public final class Registry {
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
        try Registry.write(Array(entries.values), to: url)
    }

    /// Writes `entries` to `url` atomically: temp file, fsync, rename, fsync of the directory.
    static func write(_ entries: [RegistryEntry], to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(entries.sorted { $0.identity < $1.identity })
        let temp = url.path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw AgentError("cannot write \(temp): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0 else { throw AgentError("cannot write \(temp): \(String(cString: strerror(errno)))") }
        guard rename(temp, url.path) == 0 else { throw AgentError("cannot replace \(url.path): \(String(cString: strerror(errno)))") }
        let dir = open(url.deletingLastPathComponent().path, O_RDONLY)
        if dir >= 0 { fsync(dir); close(dir) }
    }
}

/// Writes the registry (and the metrics textfile) on a thread of its own: an fsync waits for
/// the disk, tens of milliseconds when other writers keep it busy, and the reading loop must
/// not wait with it. It writes the newest snapshot it was given; a snapshot is only ever
/// replaced by a newer one, so what lands on disk never goes back. An idle agent's snapshots
/// repeat: the registry is written again only when a file's place changed (or, to refresh
/// `updated`, a minute after the last write), the textfile only when its text did — no
/// fsync a second, and no encoder code kept resident, for nothing.
final class RegistrySaver: Sendable {
    private struct State {
        var pending: (entries: [RegistryEntry], metrics: String)?
        var failure: Error?
        var stopping = false
        /// Started and not yet stopped.
        var started = false
    }

    private let url: URL
    private let metricsDirectory: String
    private let state = LockedCondition(State())
    private let finished = DispatchSemaphore(value: 0)
    /// Writes done (registry, textfile) and snapshots handled, for tests.
    let registryWrites = Atomic<Int>(0), metricsWrites = Atomic<Int>(0), handled = Atomic<Int>(0)
    /// The registry is written at least this often, to refresh `updated` (default a minute).
    let refreshSeconds: Double

    init(url: URL, metricsDirectory: String, refreshSeconds: Double = 60) {
        self.url = url
        self.metricsDirectory = metricsDirectory
        self.refreshSeconds = refreshSeconds
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "logship-agent-registry"
        state.withLock { $0.started = true }
        thread.start()
    }

    /// Hands over a snapshot; returns at once. Throws the error of an earlier write, if any.
    func submit(_ entries: [RegistryEntry], metrics: String) throws {
        let failure = state.withLock { state -> Error? in
            state.pending = (entries, metrics)
            defer { state.failure = nil }
            return state.failure
        }
        if let failure { throw failure }
    }

    /// Lets the thread finish the write in progress, then stops it (the caller saves the last
    /// snapshot itself, synchronously).
    func stop() {
        let wasStarted = state.withLock { state -> Bool in
            defer { state.started = false; state.stopping = true; state.pending = nil }
            return state.started
        }
        if wasStarted { finished.wait() }
    }

    private func loop() {
        defer { finished.signal() }
        var writtenPlaces: [RegistryEntry]?, writtenAt = 0.0, writtenMetrics: String?
        while true {
            let (stopping, next) = state.wait(for: { $0.stopping || $0.pending != nil }) { state in
                defer { state.pending = nil }
                return (state.stopping, state.pending)
            }
            if stopping { return }
            guard let (entries, metrics) = next else { continue }
            defer { handled.add(1, ordering: .sequentiallyConsistent) }
            do {
                // The entries as far as a restart cares: `updated` aside.
                let places = entries.map { entry in var place = entry; place.updated = 0; return place }.sorted { $0.identity < $1.identity }
                let now = Date().timeIntervalSince1970
                if places != writtenPlaces || now - writtenAt >= refreshSeconds {
                    try Registry.write(entries, to: url)
                    (writtenPlaces, writtenAt) = (places, now)
                    registryWrites.add(1, ordering: .sequentiallyConsistent)
                }
                if metrics != writtenMetrics {
                    AgentMetrics.write(metrics, to: metricsDirectory)
                    writtenMetrics = metrics
                    metricsWrites.add(1, ordering: .sequentiallyConsistent)
                }
            } catch {
                writtenPlaces = nil
                state.withLock { $0.failure = error }
            }
        }
    }
}

public struct AgentError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
