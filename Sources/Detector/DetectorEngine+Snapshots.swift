/// What a judge hands over and takes back when services move between detectors: snapshots of
/// each service's state (learning, windows, rules, pending alerts, sources), their restoring,
/// and the services held.
extension DetectorEngine {
    public func snapshot(of service: String) -> ServiceSnapshot? {
        guard let state = services[service] else { return nil }
        return ServiceSnapshot(learntBefore: state.learntUntil, windows: state.windows, history: state.history, signals: state.signals,
                               recentErrors: state.recentErrors, errorMarks: state.errorMarks, rules: state.rules, pending: state.pending,
                               sources: state.sources, partitions: state.partitions, patterns: state.patterns)
    }

    /// Snapshots of the services whose learning moved on by at least `windows` windows since
    /// their last snapshot (and of those never snapshot); each is marked as taken.
    public func snapshotsDue(everyWindows windows: Int) -> [(service: String, snapshot: ServiceSnapshot)] {
        var due: [(String, ServiceSnapshot)] = []
        for (name, state) in services.sorted(by: { $0.key < $1.key }) {
            // A service is snapshot when first seen (so a judge taking it over always has a
            // starting point), then every `windows` windows.
            if state.snapshotTaken {
                guard state.learntUntil != .min,
                      state.snapshotAt == .min || state.learntUntil - state.snapshotAt >= Int64(windows) * settings.windowMs else { continue }
            }
            state.snapshotTaken = true
            state.snapshotAt = state.learntUntil
            if let snapshot = snapshot(of: name) { due.append((name, snapshot)) }
        }
        return due
    }

    /// Takes services back from their snapshots, exactly as they were.
    public func restore(_ snapshots: [String: ServiceSnapshot]) {
        for (name, snapshot) in snapshots {
            let state = ServiceState(settings(for: name))
            state.windows = snapshot.windows
            state.history = snapshot.history
            state.signals = snapshot.signals
            state.recentErrors = snapshot.recentErrors
            state.errorMarks = snapshot.errorMarks
            state.rules = snapshot.rules
            state.pending = snapshot.pending
            state.sources = snapshot.sources
            state.partitions = snapshot.partitions
            state.patterns = snapshot.patterns ?? PatternBook()
            state.learntUntil = snapshot.learntBefore
            state.snapshotAt = snapshot.learntBefore
            state.snapshotTaken = true
            services[name] = state
            for source in snapshot.sources.values { judgeMaxMs = max(judgeMaxMs, source.watermarkMs) }
        }
    }

    /// Forgets services (their input moved to another judge).
    public func remove(_ names: some Sequence<String>) {
        for name in names { services[name] = nil }
    }

    /// Services the engine holds.
    public var serviceNames: [String] { services.keys.sorted() }

    /// The last closed window's score per service and scored rule (for `/metrics`).
    public func latestScores() -> [String: [String: Double]] {
        var scores: [String: [String: Double]] = [:]
        for (name, state) in services where state.learntUntil != .min { scores[name] = state.lastScores.byRule(settings(for: name)) }
        return scores
    }
}
