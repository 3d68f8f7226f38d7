import Foundation
import Telemetry

/// The agent's counters, published into its `RoleMetrics` (swift-prometheus renders them, on
/// `/metrics` and as `metrics.prom` beside the registry — node_exporter's textfile-collector
/// format — every second).
enum AgentMetrics {
    static func publish(_ stats: AgentStats, files: [(path: String, behind: Int64)], queueDepth: Int, into metrics: RoleMetrics) {
        let total = stats.snapshot
        func counter(_ name: String, _ help: String, _ value: Int64, _ labels: [(String, String)] = []) {
            metrics.publish(counter: name, help: help, labels: labels, value: value)
        }
        func gauge(_ name: String, _ help: String, _ value: Int64) {
            metrics.publish(gauge: name, help: help, value: Double(value))
        }
        counter("logship_agent_lines_read_total", "Lines read from files.", total.linesRead)
        counter("logship_agent_bytes_read_total", "Bytes read from files.", total.bytesRead)
        for (service, counts) in stats.byService {
            let labels = [("service", service)]
            counter("logship_agent_events_sent_total", "Events acknowledged by Kafka.", counts.eventsSent, labels)
            counter("logship_agent_events_failed_total", "Events Kafka rejected for good (too large, malformed).", counts.eventsFailed, labels)
            let dropped = "Events dropped on purpose, by reason."
            counter("logship_agent_events_dropped_total", dropped, counts.droppedDebug, labels + [("reason", "debug")])
            counter("logship_agent_events_dropped_total", dropped, counts.droppedEmpty, labels + [("reason", "empty")])
            counter("logship_agent_secrets_masked_total", "Secrets replaced before shipping.", counts.secretsMasked, labels)
        }
        let repaired = "Lines repaired on the way in, by kind."
        counter("logship_agent_bad_input_total", repaired, total.invalidUTF8Lines, [("kind", "invalid_utf8")])
        counter("logship_agent_bad_input_total", repaired, total.truncatedLines, [("kind", "truncated")])
        counter("logship_agent_file_truncations_total", "Files truncated in place (copytruncate).", total.truncations)
        counter("logship_agent_file_rotations_total", "Files renamed or deleted while tailed.", total.rotations)
        counter("logship_agent_unparsed_records_total",
                "Records the input's format could not read (shipped as plain text, tagged unparsed).", total.unparsedRecords)
        counter("logship_agent_future_timestamps_total",
                "Records stamped beyond future_limit ahead of the host clock (shipped with the read time).", total.futureTimestamps)
        gauge("logship_agent_files_open", "Files being tailed.", total.filesOpen)
        gauge("logship_agent_files_matched", "Files the inputs' globs matched at the last scan.", total.filesMatched)
        gauge("logship_agent_files_ignored", "Matched files left unread (exclude, compressed, ignore_older).", total.filesIgnored)
        gauge("logship_agent_producer_queue_depth", "Events waiting for Kafka's acknowledgement.", Int64(queueDepth))
        metrics.publish(gauge: "logship_agent_bytes_behind", help: "Bytes not yet read, per file.",
                        samples: files.map { (labels: [("file", $0.path)], value: Double($0.behind)) })
    }

    static func write(_ text: String, to directory: String) {
        let url = URL(fileURLWithPath: directory).appendingPathComponent("metrics.prom")
        try? Data(text.utf8).write(to: url, options: .atomic)
    }
}
