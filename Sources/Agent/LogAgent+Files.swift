import LogshipConfig
import Foundation
import KafkaClient
import LogModel
import Logging
import Synchronization
import Telemetry

// Which files the agent tails: new ones matching the globs, rotated ones read to their end,
// files rotated while the agent was down, and the release of rotated files once drained.
extension AgentReader {
    func scan(now: Int64) {
        var seen = Set<String>()
        var matched = Set<String>(), ignored = Set<String>()
        for pipeline in pipelines {
            for pattern in pipeline.patterns {
                for path in Glob.expand(pattern) {
                    var st = stat()
                    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                    matched.insert(path)
                    if Glob.excluded(path, by: pipeline.exclude) { ignored.insert(path); continue }
                    let key = "\(st.st_dev):\(st.st_ino)"
                    if let tailer = tailers[key] {
                        seen.insert(key)
                        if tailer.released { continue }
                        if tailer.path != path { tailer.relocate(to: path) }
                        continue
                    }
                    // ignore_older: a file nobody wrote to for that long is not opened (one already tailed is read on).
                    if let limit = pipeline.ignoreOlderMs, now - Int64(st.st_mtim.tv_sec) * 1000 > Int64(limit) {
                        ignored.insert(path)
                        continue
                    }
                    seen.insert(key)
                    // start_at: end applies to files present at start-up; files that appear later are new data.
                    let atEnd = pipeline.startAtEnd && !recovered
                    guard let tailer = FileTailer(path: path, input: pipeline, registry: registry, startAtEnd: atEnd,
                                                  maxLineBytes: configuration.agent.maxLineBytes, now: now) else { continue }
                    tailer.recordBuffers = agent.recordBuffers
                    tailers[key] = tailer
                    logger.debug("tailing", metadata: ["log.file.path": "\(path)", "log.offset": "\(tailer.readOffset)"])
                }
            }
        }
        for (key, tailer) in tailers where !seen.contains(key) && !tailer.rotatedAway {
            tailer.rotatedAway = true
            stats.add(\.rotations, 1)
            logger.debug("file rotated or deleted; reading it to its end", metadata: ["log.file.path": "\(tailer.path)"])
        }
        if !recovered {
            recoverRotatedWhileDown(now: now)
            recovered = true
        }
        stats.set(\.filesOpen, Int64(tailers.count))
        stats.set(\.filesMatched, Int64(matched.count))
        stats.set(\.filesIgnored, Int64(ignored.count))
    }

    /// Files renamed while the agent was down still hold unshipped lines: find them by inode
    /// and fingerprint beside their old path and read them to the end.
    func recoverRotatedWhileDown(now: Int64) {
        let open = Set(tailers.values.compactMap(\.identity))
        for entry in registry.entries.values where !open.contains(entry.identity) {
            let directory = (entry.path as NSString).deletingLastPathComponent
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory),
                  let pipeline = pipelines.first(where: { p in p.patterns.contains { Glob.matches($0, entry.path) } }) else { continue }
            for name in names {
                let path = directory + "/" + name
                var st = stat()
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) > entry.offset else { continue }
                let key = "\(st.st_dev):\(st.st_ino)"
                guard tailers[key] == nil,
                      let tailer = FileTailer(path: path, input: pipeline, registry: registry, startAtEnd: false,
                                              maxLineBytes: configuration.agent.maxLineBytes, now: now),
                      tailer.identity == entry.identity else { continue }
                tailer.rotatedAway = true
                tailer.recordBuffers = agent.recordBuffers
                tailers[key] = tailer
                logger.info("resuming a file rotated while the agent was down",
                            metadata: ["log.file.path": "\(path)", "log.offset": "\(tailer.readOffset)"])
                break
            }
        }
    }

    /// A rotated file is released once read to its end, quiet for 2 s, and fully acknowledged; a
    /// file whose input a reload removed, once what was read from it is acknowledged.
    func retireRotated(now: Int64) {
        for (key, tailer) in tailers where tailer.released {
            guard tailer.tracker.pendingCount == 0 else { continue }
            if let entry = tailer.registryEntry { registry.update(entry) }
            tailers.removeValue(forKey: key)
        }
        for (key, tailer) in tailers where tailer.rotatedAway && tailer.bytesBehind == 0 && now - tailer.lastGrowthAt >= 2_000 {
            tailer.finish(now: now, stats: stats) { record, identity, tracker in
                self.ship(record, identity: identity, tracker: tracker, path: tailer.path, pipeline: tailer.input, now: now)
            }
            guard tailer.isDrained else { continue }
            if let entry = tailer.registryEntry { registry.update(entry) }
            tailers.removeValue(forKey: key)
        }
    }
}
