import LogModel

/// Alerts of several services that share trace ids, grouped: one failure that spreads along a
/// call chain is one incident, named after its likely origin.
public struct Incident: Codable, Sendable, Equatable {
    public var id: String
    /// The likely origin service: in the shared traces, the service of the deepest failing span
    /// (the shortest failing request: a callee finishes within its caller), or, without
    /// durations, of the first error.
    public var origin: String
    /// Every service with an alert in the incident, the origin first when it has one.
    public var services: [String]
    /// The alert that carries the incident's notification (the origin's when it has one); the
    /// notifier sends one message per incident: this alert's, naming the others.
    public var lead: String
    /// Trace ids the grouped alerts share.
    public var sharedTraces: Int

    public var affected: [String] { services.filter { $0 != origin } }

    enum CodingKeys: String, CodingKey { case id, origin, services, lead, sharedTraces = "shared_traces" }

    public init(id: String, origin: String, services: [String], lead: String, sharedTraces: Int) {
        self.id = id
        self.origin = origin
        self.services = services
        self.lead = lead
        self.sharedTraces = sharedTraces
    }
}

/// One error with a trace id, as the incident grouping needs it.
struct ErrorMark: Sendable, Codable {
    var trace: String
    var timestampMs: Int64
    var durationNs: Int64?
}

/// The incidents open in the engine: grouped alerts and the traces that tie them, kept while
/// their services alert and `keepMs` after.
struct IncidentBook {
    struct Open {
        var incident: Incident?
        var traces: Set<String>
        var alertKeys: Set<String>
        /// The firing alerts that opened or joined it (the first 50), whichever close sent them.
        var members: [Alert]
        var lastMs: Int64
    }

    var open: [Open] = []
    let keepMs: Int64

    init(keepMs: Int64) { self.keepMs = keepMs }

    static func key(_ alert: Alert) -> String { "\(alert.rule)|\(alert.service)|\(alert.window.start)" }

    /// Marks the firing alerts of one close with their incident. `traces(of:)` gives the trace
    /// ids of an alert's errors in its window; `marks(of:)` every service's recent errors of a
    /// trace (for the origin).
    mutating func group(_ alerts: [Alert], nowMs: Int64, traces: (Alert) -> Set<String>,
                        marks: (Set<String>) -> [String: [ErrorMark]]) -> [Alert] {
        open.removeAll { nowMs - $0.lastMs > keepMs }
        var alerts = alerts
        // Alerts already in an open group (reminders, escalations, resolutions) keep it.
        var fresh: [Int] = []
        for index in alerts.indices {
            let key = Self.key(alerts[index])
            if let member = open.firstIndex(where: { $0.alertKeys.contains(key) }) {
                open[member].lastMs = nowMs
                alerts[index].incident = open[member].incident
            } else if alerts[index].state == "firing" {
                fresh.append(index)
            }
        }
        // New firing alerts: join the open group they share traces with, or start one.
        for index in fresh.sorted(by: { (alerts[$0].service, alerts[$0].rule) < (alerts[$1].service, alerts[$1].rule) }) {
            let alert = alerts[index]
            let own = traces(alert)
            if let member = open.firstIndex(where: { !$0.traces.isDisjoint(with: own) }) {
                open[member].traces.formUnion(own)
                open[member].alertKeys.insert(Self.key(alert))
                if open[member].members.count < 50 { open[member].members.append(alert) }
                open[member].lastMs = nowMs
            } else {
                open.append(Open(incident: nil, traces: own, alertKeys: [Self.key(alert)], members: [alert], lastMs: nowMs))
            }
        }
        // Groups of two services or more are incidents; a new member refreshes its services.
        for member in open.indices {
            let keys = open[member].alertKeys
            let services = Set(keys.map { String($0.split(separator: "|")[1]) })
            guard services.count > 1 else { continue }
            if var incident = open[member].incident {
                for service in services.sorted() where !incident.services.contains(service) { incident.services.append(service) }
                open[member].incident = incident
            } else {
                open[member].incident = Self.incident(open[member].members, services: services, traces: open[member].traces, marks: marks)
            }
        }
        for index in alerts.indices {
            let key = Self.key(alerts[index])
            if let member = open.first(where: { $0.alertKeys.contains(key) }) { alerts[index].incident = member.incident }
        }
        return alerts
    }

    /// The origin by vote over the shared traces: each trace's deepest failing span (shortest
    /// duration), or its first error when durations are missing.
    static func incident(_ members: [Alert], services: Set<String>, traces: Set<String>,
                         marks errorMarks: (Set<String>) -> [String: [ErrorMark]]) -> Incident {
        var shared = Set<String>()
        var seen: [String: Set<String>] = [:]  // trace → services with an error in it
        let byService = errorMarks(traces)
        for (service, list) in byService { for mark in list { seen[mark.trace, default: []].insert(service) } }
        for (trace, owners) in seen where owners.count > 1 { shared.insert(trace) }
        var votes: [String: Int] = [:]
        for trace in shared {
            var best: (service: String, mark: ErrorMark)?
            for (service, list) in byService {
                for mark in list where mark.trace == trace {
                    guard let current = best else { best = (service, mark); continue }
                    let deeper: Bool
                    if let a = mark.durationNs, let b = current.mark.durationNs {
                        deeper = a != b ? a < b : (mark.timestampMs, service) < (current.mark.timestampMs, current.service)
                    } else {
                        deeper = (mark.timestampMs, service) < (current.mark.timestampMs, current.service)
                    }
                    if deeper { best = (service, mark) }
                }
            }
            if let best { votes[best.service, default: 0] += 1 }
        }
        let origin = votes.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
            ?? members.min { ($0.window.start, $0.service) < ($1.window.start, $1.service) }!.service
        let ordered = (services.contains(origin) ? [origin] : []) + services.subtracting([origin]).sorted()
        let leadAlert = members.filter { $0.service == origin }.min { ($0.window.start, $0.rule) < ($1.window.start, $1.rule) }
            ?? members.min { ($0.window.start, $0.service, $0.rule) < ($1.window.start, $1.service, $1.rule) }!
        var hash = StableHash()
        hash.add("incident|" + leadAlert.id)
        return Incident(id: "incident-" + hash.hex, origin: origin, services: ordered, lead: leadAlert.id, sharedTraces: shared.count)
    }
}
