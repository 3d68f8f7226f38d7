import Foundation

/// The agent's counters in Prometheus text format. Written beside the registry as
/// `metrics.prom` (node_exporter's textfile-collector format) every second.
enum AgentMetrics {
    static func render(_ stats: AgentStats, files: [(path: String, behind: Int64)], queueDepth: Int) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, Int64)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(value)\n" }
        }
        let total = stats.snapshot
        let services = stats.byService.sorted { $0.key < $1.key }
        func label(_ pairs: (String, String)...) -> String {
            "{" + pairs.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        metric("logship_agent_lines_read_total", "counter", "Lines read from files.", [("", total.linesRead)])
        metric("logship_agent_bytes_read_total", "counter", "Bytes read from files.", [("", total.bytesRead)])
        metric("logship_agent_events_sent_total", "counter", "Events acknowledged by Kafka.",
               services.map { (label(("service", $0.key)), $0.value.eventsSent) })
        metric("logship_agent_events_failed_total", "counter", "Events Kafka rejected for good (too large, malformed).",
               services.map { (label(("service", $0.key)), $0.value.eventsFailed) })
        metric("logship_agent_events_dropped_total", "counter", "Events dropped on purpose, by reason.",
               services.flatMap { [(label(("service", $0.key), ("reason", "debug")), $0.value.droppedDebug),
                                   (label(("service", $0.key), ("reason", "empty")), $0.value.droppedEmpty)] })
        metric("logship_agent_secrets_masked_total", "counter", "Secrets replaced before shipping.",
               services.map { (label(("service", $0.key)), $0.value.secretsMasked) })
        metric("logship_agent_bad_input_total", "counter", "Lines repaired on the way in, by kind.",
               [(label(("kind", "invalid_utf8")), total.invalidUTF8Lines), (label(("kind", "truncated")), total.truncatedLines)])
        metric("logship_agent_file_truncations_total", "counter", "Files truncated in place (copytruncate).", [("", total.truncations)])
        metric("logship_agent_file_rotations_total", "counter", "Files renamed or deleted while tailed.", [("", total.rotations)])
        metric("logship_agent_files_open", "gauge", "Files being tailed.", [("", total.filesOpen)])
        metric("logship_agent_files_matched", "gauge", "Files the inputs' globs matched at the last scan.", [("", total.filesMatched)])
        metric("logship_agent_files_ignored", "gauge", "Matched files left unread (exclude, compressed, ignore_older).", [("", total.filesIgnored)])
        metric("logship_agent_unparsed_records_total", "counter", "Records the input's format could not read (shipped as plain text, tagged unparsed).", [("", total.unparsedRecords)])
        metric("logship_agent_future_timestamps_total", "counter", "Records stamped beyond future_limit ahead of the host clock (shipped with the read time).", [("", total.futureTimestamps)])
        metric("logship_agent_bytes_behind", "gauge", "Bytes not yet read, per file.",
               files.sorted { $0.path < $1.path }.map { (label(("file", $0.path)), $0.behind) })
        metric("logship_agent_producer_queue_depth", "gauge", "Events waiting for Kafka's acknowledgement.", [("", Int64(queueDepth))])
        return out
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func write(_ text: String, to directory: String) {
        let url = URL(fileURLWithPath: directory).appendingPathComponent("metrics.prom")
        try? Data(text.utf8).write(to: url, options: .atomic)
    }
}
