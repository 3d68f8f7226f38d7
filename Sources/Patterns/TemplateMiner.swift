/// Streaming log-template mining (issue 25): messages become templates with variable parts
/// (`Receiving block <*> src: <*> dest: <*>`), without per-format configuration. The method is
/// the fixed-depth parse tree published as Drain (He et al., 2017), written from its description:
///
/// 1. **Mask** what is plainly variable before grouping: quoted values, and tokens that are
///    numbers, hex ids, IPs, UUIDs, paths or contain digits (`key=value` tokens keep `key=`).
/// 2. **Route** by token count, then by the first `depth` tokens (a token with digits routes as
///    `<*>`; a node with `maxChildren` children sends the rest through `<*>`).
/// 3. **Match** the leaf's templates by the share of positions equal to the message's (`<*>`
///    matches anything but is not counted); the best one at or above `similarity` takes the
///    message and turns the positions that differ into `<*>`; otherwise a new template.
///
/// Template ids are a hash of the template text, so the same template has the same id on every
/// host and after a restart; when a template is generalised its old ids keep resolving to it
/// (`resolve`). Memory grows with the number of templates, not of messages. Pure Swift, no I/O.
public final class TemplateMiner {
    public struct Settings: Sendable, Equatable {
        /// Tokens after the length level that route a message (Drain's depth − 2).
        public var depth = 2
        /// Share of equal positions for a message to join a template.
        public var similarity = 0.5
        public var maxChildren = 100
        /// Templates per leaf before the least used is dropped (bounds memory on random input).
        public var maxTemplatesPerLeaf = 200
        public init() {}
    }

    public struct Template: Sendable, Equatable {
        public let id: String
        public let tokens: [String]
        public var count: Int
        public var text: String { tokens.joined(separator: " ") }
    }

    public static let wildcard = "<*>"
    public let settings: Settings
    private var root: [Int: Node] = [:]
    private var templates: [Int: Cluster] = [:]
    /// Every template of each token count (the fallback when the routed leaf has no match).
    private var byLength: [Int: [Int]] = [:]
    private var aliases: [String: String] = [:]
    private var nextCluster = 0

    public init(settings: Settings = Settings()) { self.settings = settings }

    /// The text mined for an event: its message, and for an error its type and message (the
    /// exception is part of what the event says: `charge failed … | UpstreamTimeout: …`).
    public static func text(message: String, errorType: String?, errorMessage: String?) -> String {
        guard let errorType, !errorType.isEmpty else { return message }
        return message + " | " + errorType + ": " + (errorMessage ?? "")
    }

    /// Every template, most frequent first.
    public var all: [Template] {
        templates.values.map { Template(id: $0.id, tokens: $0.tokens, count: $0.count) }
            .sorted { ($0.count, $1.id) > ($1.count, $0.id) }
    }

    /// The current id for `id`: itself, or the id of the template it was merged into.
    public func resolve(_ id: String) -> String {
        var current = id
        var hops = 0
        while let next = aliases[current], next != current, hops < 64 { current = next; hops += 1 }
        return current
    }

    /// Adds one message; returns its template as it stands after this message.
    @discardableResult
    public func add(_ message: String) -> Template { learn(message).template }

    /// What `learn` did with a message: its template as it stands after it, whether the message
    /// started that template, and the template's id before the message generalised it (nil when
    /// the template kept its id).
    public struct Learnt: Sendable, Equatable {
        public let template: Template
        public let created: Bool
        public let previousID: String?
    }

    /// Adds a message standing for `count` occurrences (a masked shape counted elsewhere).
    public func learn(_ message: String, count: Int = 1) -> Learnt {
        let tokens = Self.mask(message)
        let leaf = route(tokens)
        var best = bestMatch(tokens, among: leaf.clusters)
        if best.map({ $0.score < settings.similarity }) ?? true {
            // A variable word among the routing tokens (`cache.internal could not be …`) sends
            // the message to a leaf of its own: look at every template of its length, and
            // link the one that takes it to this leaf too.
            if let wider = bestMatch(tokens, among: byLength[tokens.count] ?? []), wider.score >= settings.similarity {
                best = wider
                leaf.clusters.append(wider.index)
            }
        }
        if let best, best.score >= settings.similarity, var cluster = templates[best.index] {
            var previousID: String?
            if !best.exact {
                let merged = zip(cluster.tokens, tokens).map { $0 == $1 ? $0 : Self.wildcard }
                if merged != cluster.tokens {
                    let old = cluster.id
                    cluster.tokens = merged
                    cluster.id = Self.id(of: merged)
                    if old != cluster.id {
                        aliases[old] = cluster.id
                        previousID = old
                    }
                }
            }
            cluster.count += count
            templates[best.index] = cluster
            return Learnt(template: Template(id: cluster.id, tokens: cluster.tokens, count: cluster.count), created: false, previousID: previousID)
        }
        let index = nextCluster
        nextCluster += 1
        let cluster = Cluster(id: Self.id(of: tokens), tokens: tokens, count: count)
        templates[index] = cluster
        leaf.clusters.append(index)
        byLength[tokens.count, default: []].append(index)
        if leaf.clusters.count > settings.maxTemplatesPerLeaf, let least = leaf.clusters.min(by: { (templates[$0]?.count ?? 0) < (templates[$1]?.count ?? 0) }) {
            leaf.clusters.removeAll { $0 == least }
            byLength[tokens.count]?.removeAll { $0 == least }
            templates[least] = nil
        }
        return Learnt(template: Template(id: cluster.id, tokens: cluster.tokens, count: count), created: true, previousID: nil)
    }

    // MARK: - Tree

    private final class Node {
        var children: [String: Node] = [:]
        var clusters: [Int] = []
    }

    private struct Cluster {
        var id: String
        var tokens: [String]
        var count: Int
    }

    private func route(_ tokens: [String]) -> Node {
        let top: Node
        if let node = root[tokens.count] { top = node } else { top = Node(); root[tokens.count] = top }
        var node = top
        for token in tokens.prefix(settings.depth) {
            let key = token
            if let child = node.children[key] {
                node = child
            } else if let any = node.children[Self.wildcard], node.children.count >= settings.maxChildren {
                node = any
            } else {
                let child = Node()
                node.children[node.children.count >= settings.maxChildren ? Self.wildcard : key] = child
                node = child
            }
        }
        return node
    }

    private func bestMatch(_ tokens: [String], among candidates: [Int]) -> (index: Int, score: Double, exact: Bool)? {
        var best: (index: Int, score: Double, exact: Bool)?
        for index in candidates {
            guard let cluster = templates[index] else { continue }
            let (score, exact) = Self.similarity(cluster.tokens, tokens)
            if best == nil || score > best!.score || (score == best!.score && exact && !best!.exact) { best = (index, score, exact) }
        }
        return best
    }

    /// Share of positions where template and message agree: the same token, or both variable
    /// (the message's was masked). A template's `<*>` takes any token without counting it.
    /// `exact`: the template covers the message as it is.
    static func similarity(_ template: [String], _ tokens: [String]) -> (score: Double, exact: Bool) {
        guard !template.isEmpty else { return (1, true) }
        var equal = 0
        var exact = true
        for (a, b) in zip(template, tokens) {
            if a == b { equal += 1 } else if a != wildcard { exact = false }
        }
        return (Double(equal) / Double(template.count), exact)
    }

    // MARK: - Masking

    /// The message's tokens with plainly variable ones replaced by `<*>`. Works on UTF-8 bytes
    /// (whitespace, quotes and the variable classes are ASCII).
    public static func mask(_ message: String) -> [String] {
        var message = message
        return message.withUTF8 { bytes in
            var tokens: [String] = []
            tokens.reserveCapacity(16)
            var start = 0, at = 0
            var quote: UInt8 = 0
            var quotedFrom = -1
            func finish(_ end: Int) {
                if end > start {
                    let token = UnsafeBufferPointer(rebasing: bytes[start..<end])
                    tokens.append(quotedFrom >= 0 ? String(decoding: bytes[start..<quotedFrom], as: UTF8.self) + wildcard : maskToken(token))
                }
                quotedFrom = -1
            }
            while at < bytes.count {
                let byte = bytes[at]
                if quote != 0 {
                    if byte == quote { quote = 0 }
                } else if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                    finish(at)
                    start = at + 1
                } else if (byte == 0x22 || byte == 0x27) && (at == start || bytes[at - 1] == 0x3D || bytes[at - 1] == 0x3A) {
                    // A quote opens a quoted value at the start of a token or after `=` / `:`.
                    quote = byte
                    quotedFrom = at
                }
                at += 1
            }
            finish(bytes.count)
            return tokens
        }
    }

    /// `key=value`: the key stays, the value is judged alone; otherwise the whole token.
    static func maskToken(_ token: UnsafeBufferPointer<UInt8>) -> String {
        if let separator = token.firstIndex(of: 0x3D), separator > 0 {
            let value = UnsafeBufferPointer(rebasing: token[(separator + 1)...])
            if value.isEmpty || !isVariable(value) { return String(decoding: token, as: UTF8.self) }
            return String(decoding: token[...separator], as: UTF8.self) + wildcard
        }
        return isVariable(token) ? wildcard : String(decoding: token, as: UTF8.self)
    }

    static func maskToken(_ token: String) -> String {
        var token = token
        return token.withUTF8 { maskToken($0) }
    }

    /// Numbers, hex ids, IPs, UUIDs, paths, URLs, anything with a digit.
    static func isVariable(_ token: UnsafeBufferPointer<UInt8>) -> Bool {
        // Trim punctuation around the value: `(110:`, `10.0.0.1,`, `[x]`.
        var lo = 0, hi = token.count
        func edge(_ b: UInt8) -> Bool { b == 0x2C || b == 0x3B || b == 0x28 || b == 0x29 || b == 0x5B || b == 0x5D || b == 0x7B || b == 0x7D || b == 0x2E }
        while lo < hi, edge(token[lo]) { lo += 1 }
        while hi > lo, edge(token[hi - 1]) { hi -= 1 }
        guard hi > lo else { return false }
        var slashes = 0, hex = 0
        for i in lo..<hi {
            let b = token[i]
            if b >= 0x30 && b <= 0x39 { return true }
            if b == 0x2F { slashes += 1 }
            if (b >= 0x61 && b <= 0x66) || (b >= 0x41 && b <= 0x46) { hex += 1 }
        }
        // Paths and URLs: a leading slash with more, or two slashes or more.
        if token[lo] == 0x2F && hi - lo > 1 { return true }
        if slashes >= 2 { return true }
        // Long hex words (a hash without digits: rare, but `deadbeefcafe` is one).
        return hi - lo >= 12 && hex == hi - lo
    }

    /// Stable id: 64-bit FNV-1a of the template text, 16 hex digits.
    public static func id(of tokens: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for (index, token) in tokens.enumerated() {
            if index > 0 { hash = (hash ^ 0x20) &* 0x0000_0100_0000_01b3 }
            for byte in token.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
