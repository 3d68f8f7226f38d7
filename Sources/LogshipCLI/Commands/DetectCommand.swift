import ArgumentParser
import Detector
import DetectorRole
import Foundation
import LogshipConfig

struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Run the detector offline: backtest on recorded events, benchmark the windowing path.",
        subcommands: [Backtest.self, Bench.self]
    )

    struct Backtest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay events (JSONL, as indexed) or a timestamp,value series through the detector.",
            discussion: """
            Prints the alert timeline. With --labels (service,start,end lines, RFC 3339 times;
            service * matches any) it scores the alerts: a firing alert is right when its window
            overlaps an incident of its service (or ends within 10 min after it); recall counts
            the incidents that got one. --series scores the method on public count series:
            each value becomes that many errors of the service "series" at that time.
            """
        )
        @Option(help: "Events, one JSON object per line (e.g. an Elasticsearch export).") var input: String?
        @Option(help: "A timestamp,value count series (CSV).") var series: String?
        @Option(help: "Labelled incidents: service,start,end per line.") var labels: String?
        @Option(help: "Window length (default: detector.window, 1m).") var window: String?
        @Option(name: .shortAndLong, help: "logship.yml whose detector settings apply (window, lateness, suppress, slow_threshold, trace_url, services' owners).")
        var config: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard (input == nil) != (series == nil) else {
                throw CLIError("give exactly one of --input FILE.jsonl or --series FILE.csv", status: ExitStatus.usage)
            }
            var settings = DetectorSettings()
            var owners: [String: String] = [:]
            if let config {
                let loaded: LogshipConfiguration
                do { loaded = try ConfigurationLoader.load(path: config) } catch let error as ConfigurationError {
                    throw CLIError(error.description, status: ExitStatus.usage)
                }
                settings = DetectorSettings(loaded.detector)
                owners = loaded.services.compactMapValues(\.owner)
            }
            if let window {
                guard let ms = DurationText.parseMilliseconds(window), ms > 0 else {
                    throw CLIError("--window: expected a duration like 1m, found \(window)", status: ExitStatus.usage)
                }
                settings.windowMs = Int64(ms)
            }
            var events: [DetectorEvent] = []
            var skipped = 0
            do {
                if let input {
                    guard let data = FileManager.default.contents(atPath: input) else { throw CLIError("cannot read \(input)", status: ExitStatus.usage) }
                    for line in Array(data).split(separator: 10) where !line.isEmpty {
                        if let event = Detector.Backtest.decode(Array(line)) { events.append(event) } else { skipped += 1 }
                    }
                    events.sort { $0.timestampMs < $1.timestampMs }
                } else if let series {
                    events = try Detector.Backtest.series(try String(contentsOfFile: series, encoding: .utf8))
                }
            } catch let error as BacktestError {
                throw CLIError(error.description, status: ExitStatus.usage)
            }
            let engine = DetectorEngine(settings: settings, owners: owners)
            var alerts: [Alert] = []
            for event in events { alerts += engine.ingest(event) }
            if let last = events.last { alerts += engine.advance(toMs: last.timestampMs + settings.windowMs) }
            let score = try labels.map { path -> Detector.Backtest.Score in
                do { return Detector.Backtest.score(alerts, labels: try Detector.Backtest.labels(try String(contentsOfFile: path, encoding: .utf8))) }
                catch let error as BacktestError { throw CLIError(error.description, status: ExitStatus.usage) }
            }
            if json {
                try printJSON(Output(events: events.count, skipped: skipped, alerts: alerts, score: score))
                return
            }
            print("\(events.count) events\(skipped > 0 ? " (\(skipped) lines without service or time skipped)" : ""), \(alerts.count) alerts")
            var table = Table("WINDOW", "SERVICE", "RULE", "STATE", "SEVERITY", "OBSERVED", "BASELINE")
            for a in alerts {
                table.add("\(a.window.start) – \(a.window.end)", a.service, a.rule, a.state, a.severity,
                          String(format: "%.3g", a.observed), String(format: "%.3g", a.baseline))
            }
            if !alerts.isEmpty { print(table.render()) }
            if let score {
                print(String(format: "precision %.2f  recall %.2f  F1 %.2f  (%d of %d alerts right, %d of %d incidents found)",
                             score.precision, score.recall, score.f1, score.truePositives, score.alerts, score.detected, score.incidents))
            }
        }

        struct Output: Encodable {
            var events: Int
            var skipped: Int
            var alerts: [Alert]
            var score: Detector.Backtest.Score?
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure events/s of the windowing path (ingest, window close, rules) on one core.")
        @Option(help: "Events to feed.") var events: Int = 5_000_000
        @Option(help: "Services they are spread over.") var services: Int = 20

        func run() async throws {
            let names = (0..<services).map { "service-\($0)" }
            let start = Int64(1_795_000_000_000)
            var batch: [DetectorEvent] = []
            batch.reserveCapacity(events)
            for i in 0..<events {
                let level: DetectorEvent.Level = i % 50 == 0 ? .error : .info
                batch.append(DetectorEvent(service: names[i % services], timestampMs: start + Int64(i / 10), level: level,
                                           httpStatus: i % 3 == 0 ? (i % 97 == 0 ? 503 : 200) : nil,
                                           durationNs: i % 5 == 0 ? Int64(i % 2_000) * 1_000_000 : nil,
                                           traceID: level == .error ? "t\(i)" : nil))
            }
            let engine = DetectorEngine()
            var alerts = 0
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for event in batch { alerts += engine.ingest(event).count }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(String(format: "%d events over %d services in %.3f s: %.0f events/s on one core (%d alerts); target >= 1,000,000",
                         events, services, seconds, Double(events) / seconds, alerts))
        }
    }
}
