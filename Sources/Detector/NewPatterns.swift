import LogModel
import Patterns

/// The `new_pattern` rule's counts of one window: ERROR and CRITICAL events by masked shape
/// (`TemplateMiner.mask`, stateless, so every counter shapes an event alike), with the last
/// three examples of each. The judge mines the shapes into templates.
public struct PatternTally: Sendable, Equatable, Codable {
    public var count = 0
    /// Events without a trace id; the traces of the others (a request that logs the same error
    /// ten times is one occurrence), up to `tracesKept`.
    public var untraced = 0
    public var traces: [String] = []
    public var samples: [WindowPartial.Sample] = []

    static let tracesKept = 32

    public init() {}

    /// Occurrences: untraced events, and each trace once.
    public var occurrences: Int { untraced + traces.count }

    /// The text the rule mines for an error event, masked: its message and its exception.
    static func shape(of event: DetectorEvent) -> String {
        TemplateMiner.mask(TemplateMiner.text(message: event.message, errorType: event.errorType, errorMessage: event.errorMessage))
            .joined(separator: " ")
    }

    mutating func add(_ sample: WindowPartial.Sample) {
        count += 1
        if let trace = sample.traceID {
            if traces.count < Self.tracesKept && !traces.contains(trace) { traces.append(trace) }
        } else {
            untraced += 1
        }
        samples.append(sample)
        if samples.count > 3 { samples.removeFirst(samples.count - 3) }
    }

    mutating func merge(_ other: PatternTally) {
        count += other.count
        untraced += other.untraced
        for trace in other.traces where traces.count < Self.tracesKept && !traces.contains(trace) { traces.append(trace) }
        samples = Array((samples + other.samples).sorted { $0.timestampMs < $1.timestampMs }.suffix(3))
    }
}

extension [String: PatternTally] {
    /// Shapes kept per window of one service (per partial, and after merging): beyond them a
    /// window's further shapes are not judged (counted in `unlisted`).
    static var shapesPerWindow: Int { 64 }

    /// Adds an error event's shape; false when it has no text or the window already lists
    /// `shapesPerWindow` others.
    @discardableResult
    mutating func note(_ event: DetectorEvent) -> Bool {
        let shape = PatternTally.shape(of: event)
        guard !shape.isEmpty, self[shape] != nil || count < Self.shapesPerWindow else { return false }
        self[shape, default: PatternTally()].add(.init(timestampMs: event.timestampMs, message: String(event.message.prefix(300)),
                                                       traceID: event.traceID))
        return true
    }

    /// `note` on a window's shapes that may not exist yet.
    static func note(_ event: DetectorEvent, in shapes: inout Self?) {
        if shapes == nil { shapes = [:] }
        shapes!.note(event)
    }

    mutating func merge(_ other: [String: PatternTally]) {
        for (shape, tally) in other where self[shape] != nil || count < Self.shapesPerWindow { self[shape, default: PatternTally()].merge(tally) }
    }
}

/// What the `new_pattern` rule remembers of one service: every ERROR template seen within the
/// look-back, by template text, with when it was first and last seen. That is all it keeps (a
/// few dozen bytes a template, in the judge's snapshots in Kafka): the miner that assigns shapes
/// to templates is rebuilt from these texts after a restart or a takeover, so a template seen
/// before keeps its id.
public struct PatternBook: Codable, Sendable {
    public struct Seen: Codable, Sendable, Equatable {
        public var firstMs: Int64
        public var lastMs: Int64
        /// No longer new: alerted, learnt before the rule judged (`min_history`), or past its
        /// `span` windows.
        public var settled: Bool
    }

    public var seen: [String: Seen] = [:]
    private var minerBox = MinerBox()

    enum CodingKeys: String, CodingKey { case seen }

    public init() {}

    /// A template the rule found new in the window just closed.
    public struct Found: Sendable, Equatable {
        public var id: String
        public var template: String
        public var firstMs: Int64
        /// Occurrences in the window.
        public var count: Int
        public var samples: [WindowPartial.Sample]
    }

    /// Mines the shapes of a closed window (`[startMs, endMs)`) and returns the templates that
    /// raise an alert: not seen within the look-back before their first sighting, still within
    /// `span` windows of it, and `minCount` occurrences in this window. While `learning`, new
    /// templates are learnt as usual.
    public mutating func observe(_ shapes: [String: PatternTally], startMs: Int64, endMs: Int64, windowMs: Int64,
                                 learning: Bool, _ p: DetectorSettings.NewPattern) -> [Found] {
        forget(before: endMs - p.lookBackMs, keep: p.maxTemplates)
        let miner = minerReady()
        var window: [String: PatternTally] = [:]
        for (shape, tally) in shapes.sorted(by: { $0.key < $1.key }) {
            let learnt = miner.learn(shape, count: tally.count)
            let text = learnt.template.text
            if let previousID = learnt.previousID, let previous = minerBox.texts[previousID], previous != text {
                // The template was generalised: it is the one seen before, under its new text.
                if let before = seen.removeValue(forKey: previous) { seen[text] = seen[text].map { Self.union($0, before) } ?? before }
                if let counted = window.removeValue(forKey: previous) { window[text, default: PatternTally()].merge(counted) }
            }
            minerBox.texts[learnt.template.id] = text
            var entry = seen[text] ?? Seen(firstMs: startMs, lastMs: startMs, settled: learning)
            entry.lastMs = max(entry.lastMs, endMs - 1)
            seen[text] = entry
            window[text, default: PatternTally()].merge(tally)
        }
        var found: [Found] = []
        for (text, tally) in window.sorted(by: { $0.key < $1.key }) where seen[text]?.settled == false && tally.occurrences >= p.minCount {
            let entry = seen[text]!
            found.append(Found(id: TemplateMiner.id(of: text.split(separator: " ").map(String.init)), template: text,
                               firstMs: entry.firstMs, count: tally.count, samples: tally.samples))
            seen[text]?.settled = true
        }
        // New for `span` windows from the first sighting; usual after.
        for (text, entry) in seen where !entry.settled && endMs - entry.firstMs >= Int64(p.spanWindows) * windowMs {
            seen[text]?.settled = true
        }
        return found
    }

    /// Drops templates last seen before `limit`, and the least recently seen beyond `keep`; the
    /// miner is rebuilt without them.
    mutating func forget(before limit: Int64, keep: Int) {
        let before = seen.count
        seen = seen.filter { $0.value.lastMs >= limit }
        if seen.count > keep {
            let recent = seen.sorted { ($0.value.lastMs, $0.key) > ($1.value.lastMs, $1.key) }.prefix(keep)
            seen = Dictionary(uniqueKeysWithValues: recent.map { ($0.key, $0.value) })
        }
        if seen.count != before { minerBox = MinerBox() }
    }

    /// Two entries of one template: seen since the earlier, settled if either was.
    static func union(_ a: Seen, _ b: Seen) -> Seen {
        Seen(firstMs: min(a.firstMs, b.firstMs), lastMs: max(a.lastMs, b.lastMs), settled: a.settled || b.settled)
    }

    /// The miner, rebuilt from the seen texts when missing (after decoding a snapshot or
    /// forgetting templates). Seen texts the rebuilt miner joins into one template are one entry
    /// under its text.
    mutating func minerReady() -> TemplateMiner {
        if let miner = minerBox.built { return miner }
        let miner = TemplateMiner()
        let texts = seen.keys.sorted()
        for text in texts { miner.learn(text) }
        var templates: [String: String] = [:]
        for template in miner.all { templates[template.id] = template.text }
        var rekeyed: [String: Seen] = [:]
        for text in texts {
            let final = templates[miner.resolve(TemplateMiner.id(of: text.split(separator: " ").map(String.init)))] ?? text
            let entry = seen[text]!
            rekeyed[final] = rekeyed[final].map { Self.union($0, entry) } ?? entry
        }
        seen = rekeyed
        minerBox.built = miner
        minerBox.texts = templates
        return miner
    }

    /// The miner and each template id's text. A reference, so copies of a book share it until
    /// one rebuilds.
    final class MinerBox: @unchecked Sendable {
        var built: TemplateMiner?
        var texts: [String: String] = [:]
    }
}
