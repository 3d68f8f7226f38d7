import CHeap

/// When the agent goes quiet — nothing read for `quietMs` and nothing waiting for Kafka — the
/// heap that the last burst freed (in-flight messages, batches, records) goes back to the system
/// once, instead of staying in glibc's arenas until the next burst, and so do the code pages it
/// mapped: the idle agent's resident set is what it holds, not the peak of the last burst
/// (README, "Pipeline speed", memory).
struct IdleTrim {
    let quietMs: Int64
    private var lastActivity: Int64
    private var trimmed = false
    /// When the warm-up is over (`warmUpMs` after the reading loop's first turn); nil once told.
    private var warmUpEndsAt: Int64?

    init(quietMs: Int64 = 2_000, warmUpMs: Int64 = 1_000, now: Int64) {
        self.quietMs = quietMs
        lastActivity = now
        warmUpEndsAt = now + warmUpMs
    }

    /// True once, at the first turn `warmUpMs` after the start: the code pages go again then,
    /// with those of what runs once at first use (generic metadata instantiation, lazy globals,
    /// the first connection and scrape) — ~2 MB mapped otherwise for the rest of the burst.
    mutating func warmUpEnded(now: Int64) -> Bool {
        guard let at = warmUpEndsAt, now >= at else { return false }
        warmUpEndsAt = nil
        return true
    }

    /// One reading-loop turn; true when this turn should trim (once per quiet spell).
    mutating func shouldTrim(now: Int64, didRead: Bool, inFlight: Int) -> Bool {
        if didRead || inFlight > 0 {
            lastActivity = now
            trimmed = false
            return false
        }
        guard !trimmed, now - lastActivity >= quietMs else { return false }
        trimmed = true
        return true
    }

    /// Returns free heap pages to the system (glibc's `malloc_trim`) and lets go of the code
    /// pages the agent mapped (`releaseCodePages`).
    static func trimHeap() {
        _ = logship_trim_heap()
        releaseCodePages()
    }

    /// Unmaps the resident pages of the agent's and its libraries' code and constants (read-only
    /// file mappings never written; `logship_release_clean_file_pages`): start-up code (the
    /// configuration, the command line, Foundation's set-up) and a burst's code would otherwise
    /// count in the resident set for as long as the process lives. They stay in the page cache;
    /// what runs next maps its pages again on first touch. Done when the reading loop starts and
    /// at each quiet spell.
    @discardableResult
    static func releaseCodePages() -> Int { logship_release_clean_file_pages() }
}
