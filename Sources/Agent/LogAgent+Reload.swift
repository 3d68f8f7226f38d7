import Foundation
import LogshipConfig
import Telemetry

// SIGHUP: a new configuration's inputs, masks and levels, adopted without a restart and
// without reading anything twice or skipping anything.
extension LogAgent: BlockingRole {}

extension LogAgent {
    static func pipelines(of configuration: AgentConfiguration, host: String) throws -> [InputPipeline] {
        try configuration.agent.inputs.map { input in
            try InputPipeline(input: input, host: host, allowDebug: configuration.services[input.service]?.debug ?? false,
                              maskPatterns: configuration.agent.maskPatterns, pythonFormat: input.pythonFormat)
        }
    }

    /// Validates `configuration`'s inputs (time zones, mask patterns, multiline rules) and hands
    /// them to the reading thread, which adopts them at the top of its next pass. Throws, and
    /// changes nothing, when they cannot be built. Settings outside inputs, masks and levels
    /// (Kafka, data_dir, limits) need a restart; a change to them is logged as such.
    public func reload(_ whole: LogshipConfiguration) throws {
        let configuration = try AgentConfiguration(whole)
        let fresh = try Self.pipelines(of: configuration, host: host)
        var restartOnly = configuration
        restartOnly.agent.inputs = self.configuration.agent.inputs
        restartOnly.agent.maskPatterns = self.configuration.agent.maskPatterns
        restartOnly.services = self.configuration.services
        if restartOnly != self.configuration {
            logger.warning("configuration reloaded: only agent.inputs, agent.mask_patterns and services.*.debug apply without a restart")
        }
        pendingPipelines.withLock { $0 = fresh }
    }
}

extension AgentReader {
    /// On the reading thread: an unchanged input keeps its pipeline (and its files go on as they
    /// were); a file whose input changed moves to the new pipeline at its current position; a
    /// file no input matches any more is released once what was read from it is acknowledged.
    /// Files of new inputs are found by the next scan.
    func adopt(_ fresh: [InputPipeline], now: Int64) {
        var kept: [InputPipeline] = []
        let next = fresh.map { pipeline in
            if let old = pipelines.first(where: { old in old.source == pipeline.source && !kept.contains { $0 === old } }) {
                kept.append(old)
                return old
            }
            return pipeline
        }
        retiredPipelines += pipelines.filter { old in !next.contains { $0 === old } }
        pipelines = next
        var moved = 0, released = 0
        for tailer in tailers.values where !next.contains(where: { $0 === tailer.input }) {
            let sink: RecordSink = { record, identity, tracker in
                self.ship(record, identity: identity, tracker: tracker, path: tailer.path, pipeline: tailer.input, now: now)
            }
            if let pipeline = next.first(where: { p in
                p.patterns.contains { Glob.matches($0, tailer.path) } && !Glob.excluded(tailer.path, by: p.exclude)
            }) {
                tailer.adopt(pipeline, now: now, sink: sink)
                moved += 1
            } else {
                tailer.flushPending(now: now, sink: sink)
                tailer.released = true
                released += 1
            }
        }
        lastScan = 0
        logger.notice("configuration reloaded", metadata: [
            "agent.inputs": "\(next.count)", "agent.inputs_kept": "\(kept.count)",
            "agent.files_moved": "\(moved)", "agent.files_released": "\(released)"])
    }
}
