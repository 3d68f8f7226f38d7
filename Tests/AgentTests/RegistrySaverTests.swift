@testable import Agent
import Foundation
import Testing

/// An idle agent hands the saver the same places every second: the registry is written when a
/// file's place changes (not for a new `updated` alone), the textfile when its text changes.
@Suite struct RegistrySaverTests {
    func entry(offset: Int64, updated: Double) -> RegistryEntry {
        RegistryEntry(identity: "abc", path: "/var/log/app.log", device: 1, inode: 2, offset: offset, updated: updated)
    }

    /// Submits and waits until the saver handled it (its `handled` count moved).
    func submit(_ saver: RegistrySaver, _ entries: [RegistryEntry], _ metrics: String) async throws {
        let before = saver.handled.load(ordering: .sequentiallyConsistent)
        try saver.submit(entries, metrics: metrics)
        let deadline = Date().addingTimeInterval(10)
        while saver.handled.load(ordering: .sequentiallyConsistent) == before {
            guard Date() < deadline else { Issue.record("the saver did not handle the snapshot"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// A started saver writing into a fresh directory, stopped and removed after `body`.
    func withSaver(refreshSeconds: Double, _ body: (RegistrySaver, URL) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("saver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let saver = RegistrySaver(url: directory.appendingPathComponent("registry.json"), metricsDirectory: directory.path,
                                  refreshSeconds: refreshSeconds)
        saver.start()
        defer { saver.stop() }
        try await body(saver, directory)
    }

    @Test func refreshRewritesUnchangedPlacesOnceDue() async throws {
        try await withSaver(refreshSeconds: 0) { saver, directory in
            let url = directory.appendingPathComponent("registry.json")
            try await submit(saver, [entry(offset: 100, updated: 1)], "m\n")
            try await submit(saver, [entry(offset: 100, updated: 2)], "m\n")
            #expect(saver.registryWrites.load(ordering: .sequentiallyConsistent) == 2)
            #expect(try JSONDecoder().decode([RegistryEntry].self, from: Data(contentsOf: url)) == [entry(offset: 100, updated: 2)])
            #expect(saver.metricsWrites.load(ordering: .sequentiallyConsistent) == 1)
        }
    }

    @Test func repeatedPlacesAreNotWrittenAgain() async throws {
        // No refresh by time here: a loaded machine may take minutes between two steps.
        try await withSaver(refreshSeconds: 86_400) { saver, directory in
            let url = directory.appendingPathComponent("registry.json")
            try await submit(saver, [entry(offset: 100, updated: 1)], "m 1\n")
            try await submit(saver, [entry(offset: 100, updated: 2)], "m 1\n")   // only `updated` moved
            #expect(saver.registryWrites.load(ordering: .sequentiallyConsistent) == 1)
            #expect(saver.metricsWrites.load(ordering: .sequentiallyConsistent) == 1)
            let written = try JSONDecoder().decode([RegistryEntry].self, from: Data(contentsOf: url))
            #expect(written == [entry(offset: 100, updated: 1)])

            try await submit(saver, [entry(offset: 250, updated: 3)], "m 2\n")   // the file moved on
            #expect(saver.registryWrites.load(ordering: .sequentiallyConsistent) == 2)
            #expect(saver.metricsWrites.load(ordering: .sequentiallyConsistent) == 2)
            #expect(try JSONDecoder().decode([RegistryEntry].self, from: Data(contentsOf: url)) == [entry(offset: 250, updated: 3)])
            #expect(try String(contentsOf: directory.appendingPathComponent("metrics.prom"), encoding: .utf8) == "m 2\n")
        }
    }
}
