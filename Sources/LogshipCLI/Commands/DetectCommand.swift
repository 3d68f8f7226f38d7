import ArgumentParser
import Detector
import DetectorRole
import Foundation
import KafkaClient
import LogModel
import Logging
import LogshipConfig
import Synchronization

struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Run the detector offline: backtest on recorded events, benchmark the windowing path.",
        subcommands: [Backtest.self, Bench.self, BenchKafka.self]
    )

    struct Backtest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replay events (JSONL, as indexed) or a timestamp,value series through the detector.",
            discussion: helpText("""
            Prints the alert timeline. With --labels (service,start,end lines, RFC 3339 times;
            service * matches any) it scores the alerts: a firing alert is right when its window
            overlaps an incident of its service (or ends within 10 min after it); recall counts
            the incidents that got one. --json adds every judged window's score ("scores":
            [{"timestamp", "service", "window", "score"}], timestamp = the window's last
            millisecond, score = the highest of the scored rules in [0, 1]; an alert also needs
            its rule's minimum counts). --series scores the method on public series: each value
            is the event volume of the service "series" at that time, carried as one weighted
            event (any value up to 2^53; fractional or negative values make it a measure; memory
            by rows), in windows of the series' own interval (the median gap between rows)
            unless --window. A bad line — a time or
            number that does not parse, a value out of range, a time before the previous row's —
            or a file without rows exits 2 naming it; a row at the same time as the previous one
            adds to it (said on stderr: NAB's own data repeats an hour).
            """)
        )
        @Option(help: "Events, one JSON object per line (e.g. an Elasticsearch export).") var input: String?
        @Option(help: "A timestamp,value count series (CSV).") var series: String?
        @Option(help: "Read the events from Kafka: topics matching this regex (e.g. 'logs\\..*' or logs.payment).") var topic: String?
        @Option(help: "With --topic: events written at or after this time (2026-11-25T00:00:00Z).") var from: String?
        @Option(help: "With --topic: events written before this time.") var to: String?
        @Option(help: "Labelled incidents: service,start,end per line.") var labels: String?
        @Option(help: "Window length (default: detector.window, 1m).") var window: String?
        @OptionGroup var cluster: ClusterOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            guard [input, series, topic].compactMap({ $0 }).count == 1 else {
                throw CLIError("give exactly one of --input FILE.jsonl, --series FILE.csv or --topic REGEX", status: ExitStatus.usage)
            }
            if topic == nil && (from != nil || to != nil) { throw CLIError("--from and --to go with --topic", status: ExitStatus.usage) }
            // The detector settings of logship.yml apply (rules, per-service overrides, owners)
            // when --config is given or ./logship.yml exists; the defaults otherwise.
            var configuration = try cluster.load()
            if let window {
                guard let ms = DurationText.parseMilliseconds(window), ms > 0 else {
                    throw CLIError("--window: expected a duration like 1m, found \(window)", status: ExitStatus.usage)
                }
                configuration.detector.windowMs = ms
            }
            var events: [DetectorEvent] = []
            var skipped = 0
            do {
                if let input {
                    guard let data = FileManager.default.contents(atPath: input) else { throw CLIError("cannot read \(input)", status: ExitStatus.usage) }
                    for line in Array(data).split(separator: 10) where !line.isEmpty {
                        if let event = Detector.Backtest.decode(Array(line)) { events.append(event) } else { skipped += 1 }
                    }
                } else if let series {
                    guard let text = FileManager.default.contents(atPath: series).map({ String(decoding: $0, as: UTF8.self) }) else {
                        throw CLIError("cannot read \(series)", status: ExitStatus.usage)
                    }
                    let parsed = try Detector.Backtest.series(text)
                    events = parsed.events
                    for note in parsed.notes { FileHandle.standardError.write(Data("logship: \(note)\n".utf8)) }
                    // One window per row: the series' own interval (the median gap) unless --window.
                    if window == nil, let interval = parsed.intervalMs, interval >= 1_000 { configuration.detector.windowMs = Int(interval) }
                } else if let topic {
                    (events, skipped) = try readTopic(topic, configuration)
                }
            } catch let error as BacktestError {
                throw CLIError(error.description, status: ExitStatus.usage)
            }
            events.sort { $0.timestampMs < $1.timestampMs }
            let engine = DetectorEngine(configuration)
            let settings = engine.settings
            engine.scoreLog = []
            var alerts: [Alert] = []
            for event in events { alerts += engine.ingest(event) }
            if let last = events.last { alerts += engine.advance(toMs: last.timestampMs + settings.windowMs) }
            alerts += engine.drainPending()
            let scores = (engine.scoreLog ?? []).map(ScoreRow.init)
            let score = try labels.map { path -> Detector.Backtest.Score in
                do { return Detector.Backtest.score(alerts, labels: try Detector.Backtest.labels(try String(contentsOfFile: path, encoding: .utf8))) }
                catch let error as BacktestError { throw CLIError(error.description, status: ExitStatus.usage) }
            }
            if json {
                try printJSON(Output(events: events.count, skipped: skipped, alerts: alerts, score: score, scores: scores))
                return
            }
            let top = scores.max { $0.score < $1.score }
            print("\(events.count) events\(skipped > 0 ? " (\(skipped) lines without service or time skipped)" : ""), "
                  + "\(scores.count) windows scored\(top.map { String(format: " (highest %.3f: %@ at %@)", $0.score, $0.service, $0.window.start) } ?? ""), "
                  + "\(alerts.count) alerts")
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

        /// The events of the matching topics written between --from and --to (Kafka timestamps).
        func readTopic(_ pattern: String, _ configuration: LogshipConfiguration) throws -> ([DetectorEvent], Int) {
            let fromMs = try from.map { try parseTime($0, "--from") }, toMs = try to.map { try parseTime($0, "--to") }
            let admin = try KafkaAdmin(configuration.kafkaConfiguration(clientID: "logship-backtest"))
            let partitions = try admin.partitions(matching: "^(" + pattern + ")$")
            guard !partitions.isEmpty else { throw CLIError("no topic matches \(pattern)", status: ExitStatus.failure) }
            var events: [DetectorEvent] = []
            var skipped = 0
            try admin.read(try admin.offsetRanges(partitions, fromMs: fromMs, toMs: toMs)) { message in
                if let event = Detector.Backtest.decode(message.value) { events.append(event) } else { skipped += 1 }
            }
            return (events, skipped)
        }

        struct Output: Encodable {
            var events: Int
            var skipped: Int
            var alerts: [Alert]
            var score: Detector.Backtest.Score?
            var scores: [ScoreRow]
        }

        /// One judged window's score; `timestamp` is its last millisecond (when it could first be
        /// judged, so a scorer maps it to the window's last row, never a later one).
        struct ScoreRow: Encodable {
            var timestamp: String
            var service: String
            var window: Alert.Window
            var score: Double

            init(_ entry: DetectorEngine.WindowScore) {
                timestamp = Timestamps.format(epochMillis: entry.endMs - 1)
                service = entry.service
                window = Alert.Window(start: Timestamps.format(epochMillis: entry.startMs), end: Timestamps.format(epochMillis: entry.endMs))
                score = (entry.score * 1_000_000).rounded() / 1_000_000
            }
        }
    }

    struct Bench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure events/s of the windowing path (ingest, window close, scores, rules) on one core.")
        @Option(help: "Events to feed.") var events: Int = 5_000_000
        @Option(help: "Services they are spread over.") var services: Int = 20
        @Option(help: "Minutes of event time they span (windows judged per service).") var minutes: Int = 1_000

        func run() async throws {
            let names = (0..<services).map { "service-\($0)" }
            let start = Int64(1_795_000_000_000)
            let step = max(1, Double(minutes) * 60_000 / Double(max(events, 1)))
            var batch: [DetectorEvent] = []
            batch.reserveCapacity(events)
            for i in 0..<events {
                let level: DetectorEvent.Level = i % 50 == 0 ? .error : .info
                batch.append(DetectorEvent(service: names[i % services], timestampMs: start + Int64(Double(i) * step), level: level,
                                           httpStatus: i % 3 == 0 ? (i % 97 == 0 ? 503 : 200) : nil,
                                           durationNs: i % 5 == 0 ? Int64(i % 2_000) * 1_000_000 : nil,
                                           traceID: level == .error ? "t\(i)" : nil,
                                           message: level == .error ? "charge \(i) failed: upstream did not answer in \(i % 3_000) ms" : ""))
            }
            let engine = DetectorEngine()
            engine.scoreLog = []
            var alerts = 0
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                for event in batch { alerts += engine.ingest(event).count }
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(String(format: "%d events over %d services, %d windows scored, in %.3f s: %.0f events/s on one core (%d alerts); target >= 1,000,000",
                         events, services, engine.scoreLog?.count ?? 0, seconds, Double(events) / seconds, alerts))
        }
    }

    struct BenchKafka: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-kafka",
            abstract: "Measure events/s end to end (consume, decode, count, merge, judge) against librdkafka's mock cluster, per member.")
        @Option(help: "Events to feed.") var events: Int = 300_000
        @Option(help: "Detectors (members of both stages) in this process.") var members: Int = 1
        @Option(help: "Services (topics of 3 partitions each).") var services: Int = 10

        func run() async throws {
            let cluster = try KafkaMockCluster(brokers: 1)
            let names = (0..<services).map { "svc-\($0)" }
            for name in names { try cluster.createTopic("logs.\(name)", partitions: 3, replicationFactor: 1) }
            for (topic, partitions) in [("logs.dlq", 1), (Naming.detectorWindowsTopic, 4), (Naming.detectorStateTopic, 1),
                                        (Naming.alertsTopic, 1), (Naming.healthTopic, 1)] {
                try cluster.createTopic(topic, partitions: partitions, replicationFactor: 1)
            }
            let yaml = "kafka: {brokers: [\"\(cluster.bootstrapServers)\"], partitions: 4}\n"
            let config = try ConfigurationLoader.parse(yaml)
            var logger = Logger(label: "bench")
            logger.logLevel = .warning
            let detectors = try (0..<members).map { try DetectorService(configuration: config, instanceID: "bench-\($0)", logger: logger) }
            let clock = ContinuousClock()
            let done = DispatchGroup()
            for detector in detectors {
                done.enter()
                Thread { defer { done.leave() }; try? detector.run(pollIntervalMs: 100) }.start()
            }
            // The members join both groups first, every partition of both stages owned and each
            // member given some (the mock cluster refuses CreateTopics: 10 s each), so no
            // rebalance runs while the events are read; then the events.
            let joinDeadline = clock.now + .seconds(120)
            func joined() -> Bool {
                let owned = detectors.map(\.stagePartitions)
                return owned.reduce(0) { $0 + $1.counter } == services * 3 + 1 && owned.reduce(0) { $0 + $1.judge } == 4
                    && owned.allSatisfy { $0.counter > 0 && $0.judge > 0 }
            }
            while !joined() {
                guard clock.now < joinDeadline else {
                    throw CLIError("the detectors did not share the partitions within 120 s: \(detectors.map(\.stagePartitions))", status: ExitStatus.failure)
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            let kafka = KafkaConfiguration(brokers: [cluster.bootstrapServers], properties: ["log_level": "0"])
            let producer = try KafkaProducer(KafkaProducerConfiguration(kafka: kafka, maxInFlight: 200_000))
            let start = Int64(1_795_000_000_000)
            let failures = Atomic<Int>(0)
            for i in 0..<events {
                let name = names[i % services]
                let level = i % 50 == 0 ? "ERROR" : "INFO"
                let at = Timestamps.format(epochMillis: start + Int64(i) * 10)
                let value = #"{"@timestamp":"\#(at)","message":"request \#(i)","service":{"name":"\#(name)"},"log":{"level":"\#(level)"},"trace":{"id":"t\#(i)"},"http":{"response":{"status_code":200}},"event":{"duration":\#(i % 2_000 * 1_000_000)}}"#
                try producer.enqueue(topic: "logs.\(name)", key: Array(String(i).utf8), value: Array(value.utf8)) { result in
                    if case .failure = result { failures.add(1, ordering: .relaxed) }
                }
            }
            guard producer.flushBlocking(timeoutMs: 120_000), failures.load(ordering: .relaxed) == 0 else {
                throw CLIError("the mock cluster did not take the \(events) events", status: ExitStatus.failure)
            }
            FileHandle.standardError.write(Data("\(events) events produced; counting\n".utf8))
            // The backlog left when the last event was acknowledged, timed until all are counted.
            let began = clock.now
            let before = detectors.reduce(0) { $0 + $1.eventsCounted }
            var counted = before
            let deadline = clock.now + .seconds(600)
            while clock.now < deadline && counted < Int64(events) {
                try await Task.sleep(for: .milliseconds(5))
                counted = detectors.reduce(0) { $0 + $1.eventsCounted }
            }
            let elapsed = clock.now - began
            for detector in detectors { detector.stop() }
            done.wait()
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let shares = detectors.map { String($0.eventsCounted) }.joined(separator: " + ")
            let backlog = Double(counted - before)
            print(String(format: "%d events over %d services, %d member(s): a backlog of %.0f counted in %.3f s: %.0f events/s, %.0f per member (counted %@)",
                         events, services, members, backlog, seconds, backlog / seconds, backlog / seconds / Double(members), shares))
        }
    }
}
