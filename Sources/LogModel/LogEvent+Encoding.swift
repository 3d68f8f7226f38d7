/// Hand-written JSON output: the agent encodes every line it ships, so this avoids the cost of
/// a general encoder while producing nested ECS objects.
extension LogEvent {
    public func encoded() -> [UInt8] {
        let out = OutputBuffer(capacity: 512)
        encode(into: out)
        return Array(out.bytes)
    }

    /// Writes the event's JSON into `out`, replacing its contents and reusing its storage.
    public func encode(into out: OutputBuffer) {
        withView { $0.encode(into: out) }
    }

    /// The event as an `EventView` (its message and logger borrowed for the duration of `body`).
    public func withView<R>(_ body: (inout EventView) -> R) -> R {
        var message = self.message
        var logger = self.logger ?? ""
        return message.withUTF8 { message in
            logger.withUTF8 { loggerBytes in
                var view = EventView(timestamp: InlineText(timestamp) ?? "", message: message, serviceName: serviceName)
                // Texts longer than an InlineText (logship's parsers make none: times are 24
                // bytes, ids 16 or 32) are written from the strings themselves.
                view.longTexts = EventView.LongTexts.ifAny(timestamp: timestamp, traceID: traceID, spanID: spanID, eventID: eventID)
                view.hostName = hostName
                view.level = level
                view.logger = self.logger == nil ? nil : loggerBytes
                view.filePath = filePath
                view.fileOffset = fileOffset
                view.traceID = traceID.flatMap { InlineText($0) }
                view.spanID = spanID.flatMap { InlineText($0) }
                view.errorType = errorType
                view.errorMessage = errorMessage
                view.stackTrace = stackTrace
                view.httpMethod = httpMethod
                view.httpStatus = httpStatus
                view.urlPath = urlPath
                view.durationNs = durationNs
                view.eventID = eventID.flatMap { InlineText($0) }
                view.original = original
                view.labels = labels
                view.tags = tags
                view.factsBox = factsBox
                return body(&view)
            }
        }
    }
}

/// A `LogEvent` whose message and logger are borrowed bytes (of a record being shipped) and
/// whose per-line texts (time, ids) are held inline: the agent fills one per Python `logging`
/// line without a heap allocation. The one place where the event's JSON layout is written.
public struct EventView {
    public var timestamp: InlineText
    public var message: UnsafeBufferPointer<UInt8>
    public var serviceName: String
    public var hostName: String?
    public var level: Level?
    public var logger: UnsafeBufferPointer<UInt8>?
    public var filePath: String?
    public var fileOffset: Int64?
    public var traceID: InlineText?
    public var spanID: InlineText?
    public var errorType: String? {
        get { rare?.errorType }
        set { setRare(\.errorType, newValue) }
    }
    public var errorMessage: String? {
        get { rare?.errorMessage }
        set { setRare(\.errorMessage, newValue) }
    }
    public var stackTrace: String? {
        get { rare?.stackTrace }
        set { setRare(\.stackTrace, newValue) }
    }
    public var httpMethod: String?
    public var httpStatus: Int?
    public var urlPath: String? {
        get { urlPathText ?? urlPathBytes.map { String(decoding: $0, as: UTF8.self) } }
        set { urlPathText = newValue; urlPathBytes = nil }
    }
    private var urlPathText: String? {
        get { rare?.urlPathText }
        set { setRare(\.urlPathText, newValue) }
    }
    /// The path as bytes of the record being encoded, borrowed like `message` (the agent's fast
    /// path: no String made per line); `urlPath` reads either.
    private var urlPathBytes: UnsafeBufferPointer<UInt8>?
    public mutating func setURLPath(_ path: UnsafeBufferPointer<UInt8>) { urlPathText = nil; urlPathBytes = path }
    public var durationNs: Int64?
    public var eventID: InlineText?
    /// Those of the four texts above that are longer than an InlineText holds (the field
    /// itself is then empty or nil); nil when none is.
    var longTexts: LongTexts? {
        get { rare?.longTexts }
        set { setRare(\.longTexts, newValue) }
    }
    final class LongTexts {
        var timestamp: String?, traceID: String?, spanID: String?, eventID: String?
        private init(_ texts: [String?]) { (timestamp, traceID, spanID, eventID) = (texts[0], texts[1], texts[2], texts[3]) }

        /// The texts that do not fit; nil (nothing allocated) when all do, as logship's own do.
        static func ifAny(timestamp: String, traceID: String?, spanID: String?, eventID: String?) -> LongTexts? {
            func fits(_ text: String?) -> Bool { (text?.utf8.count ?? 0) <= InlineText.capacity }
            guard !(fits(timestamp) && fits(traceID) && fits(spanID) && fits(eventID)) else { return nil }
            return LongTexts([timestamp, traceID, spanID, eventID].map { text in fits(text) ? nil : text })
        }
    }

    /// `@timestamp` as a String.
    public var timestampText: String { longTexts?.timestamp ?? timestamp.description }

    /// `@timestamp`'s bytes.
    public func withTimestampBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if var long = longTexts?.timestamp { return long.withUTF8(body) }
        return timestamp.withUTF8(body)
    }

    /// Replaces `@timestamp`.
    public mutating func setTimestamp(_ text: InlineText) {
        timestamp = text
        longTexts?.timestamp = nil
    }
    public var original: String? {
        get { rare?.original }
        set { setRare(\.original, newValue) }
    }
    public var labels: [(String, String)] {
        get { rare?.labels ?? [] }
        set { if !newValue.isEmpty || rare != nil { rareForWriting().labels = newValue } }
    }
    public var tags: [String] = []
    /// `timestamp` in milliseconds, when the parser knew it (not encoded: the agent's future check reads it).
    public var timestampMillis: Int64?
    public var facts: SourceFacts? {
        get { factsBox?.value }
        set { factsBox = newValue.map(SourceFacts.Box.init) }
    }
    var factsBox: SourceFacts.Box? {
        get { rare?.factsBox }
        set { setRare(\.factsBox, newValue) }
    }

    /// The fields a Python `logging` line leaves unset, in one box allocated when one is set:
    /// the view a line fills stays small (it is built, copied and destroyed once a line — each
    /// field a store, a copy and a release). Copied before a write when shared (value semantics).
    final class Rare {
        var errorType: String?, errorMessage: String?, stackTrace: String?, original: String?, urlPathText: String?
        var labels: [(String, String)] = []
        var longTexts: LongTexts?
        var factsBox: SourceFacts.Box?

        init() {}

        func copy() -> Rare {
            let copy = Rare()
            (copy.errorType, copy.errorMessage, copy.stackTrace, copy.original, copy.urlPathText) =
                (errorType, errorMessage, stackTrace, original, urlPathText)
            (copy.labels, copy.longTexts, copy.factsBox) = (labels, longTexts, factsBox)
            return copy
        }
    }
    private var rare: Rare?

    /// Sets a boxed field; setting nil where there is no box allocates none.
    @inline(__always) private mutating func setRare<Value>(_ field: ReferenceWritableKeyPath<Rare, Value?>, _ value: Value?) {
        guard value != nil || rare != nil else { return }
        rareForWriting()[keyPath: field] = value
    }

    private mutating func rareForWriting() -> Rare {
        if rare == nil {
            rare = Rare()
        } else if !isKnownUniquelyReferenced(&rare!) {
            rare = rare!.copy()
        }
        return rare!
    }

    @inlinable
    public init(timestamp: InlineText, message: UnsafeBufferPointer<UInt8>, serviceName: String) {
        self.timestamp = timestamp
        self.message = message
        self.serviceName = serviceName
    }

    public func encode(into out: OutputBuffer) {
        var none = EncodedRuns(enabled: false)
        var view = self
        view.encode(into: out, runs: &none)
    }

    /// Straight-line code with begin/end pairs: closures here would copy the whole event.
    /// `runs` keeps the service/host and file objects of the events of one file (see `EncodedRuns`).
    /// `mutating` though it changes nothing: the view is then passed by address — called on a
    /// view held `inout` (the agent's), a non-mutating call copied the whole view first.
    public mutating func encode(into out: OutputBuffer, runs: inout EncodedRuns) {
        var w = JSONWriter(out)
        defer { w.finish() }
        w.open()
        // Read through the box (a reference): copying the struct out would cost every event.
        let facts = factsBox
        let long = longTexts
        if let text = long?.timestamp { w.field("@timestamp", text) } else { w.field("@timestamp", timestamp) }
        w.key("message"); w.string(bytes: message)
        if !runs.enabled || !w.replay(runs.source, serviceName, hostName) {
            let start = w.startRun()
            w.begin("service"); w.field("name", serviceName); w.close()
            if let hostName { w.begin("host"); w.field("name", hostName); w.close() }
            if runs.enabled { w.endRun(&runs.source, from: start, serviceName, hostName) }
        }
        if level != nil || logger != nil || filePath != nil || fileOffset != nil || facts != nil {
            w.begin("log")
            if let level { w.key("level"); w.put(level.jsonString) }
            if let logger { w.key("logger"); w.string(bytes: logger) }
            if let filePath, !runs.enabled || !w.replay(runs.file, filePath, nil) {
                let start = w.startRun()
                w.begin("file"); w.field("path", filePath); w.close()
                if runs.enabled { w.endRun(&runs.file, from: start, filePath, nil) }
            }
            if let fileOffset { w.field("offset", fileOffset) }
            if let facts { Self.encodeLogFacts(facts.value, &w) }
            w.close()
        }
        if let text = long?.traceID { w.begin("trace"); w.field("id", text); w.close() }
        if let traceID { w.begin("trace"); w.field("id", traceID); w.close() }
        if let text = long?.spanID { w.begin("span"); w.field("id", text); w.close() }
        if let spanID { w.begin("span"); w.field("id", spanID); w.close() }
        if errorType != nil || errorMessage != nil || stackTrace != nil {
            w.begin("error")
            if let errorType { w.field("type", errorType) }
            if let errorMessage { w.field("message", errorMessage) }
            if let stackTrace { w.field("stack_trace", stackTrace) }
            w.close()
        }
        let referrer = facts?.value.referrer, bodyBytes = facts?.value.responseBytes, version = facts?.value.httpVersion
        if httpMethod != nil || httpStatus != nil || referrer != nil || bodyBytes != nil || version != nil {
            w.begin("http")
            if httpMethod != nil || referrer != nil {
                w.begin("request")
                if let httpMethod { w.field("method", httpMethod) }
                if let referrer { w.field("referrer", referrer) }
                w.close()
            }
            if httpStatus != nil || bodyBytes != nil {
                w.begin("response")
                if let httpStatus { w.field("status_code", Int64(httpStatus)) }
                if let bodyBytes { w.begin("body"); w.field("bytes", bodyBytes); w.close() }
                w.close()
            }
            if let version { w.field("version", version) }
            w.close()
        }
        let query = facts?.value.urlQuery
        if urlPathText != nil || urlPathBytes != nil || query != nil {
            w.begin("url")
            if let urlPathText { w.field("path", urlPathText) } else if let urlPathBytes { w.key("path"); w.string(bytes: urlPathBytes) }
            if let query { w.field("query", query) }
            w.close()
        }
        let created = facts?.value.created
        if eventID != nil || long?.eventID != nil || durationNs != nil || original != nil || created != nil {
            w.begin("event")
            if let text = long?.eventID { w.field("id", text) }
            if let eventID { w.field("id", eventID) }
            if let durationNs { w.field("duration", durationNs) }
            if let original { w.field("original", original) }
            if let created { w.field("created", created) }
            w.close()
        }
        if let facts { Self.encodeSourceObjects(facts.value, &w) }
        if !labels.isEmpty {
            w.begin("labels")
            for (key, value) in labels { w.key(dynamic: key); w.string(value) }
            w.close()
        }
        if !tags.isEmpty {
            w.key("tags")
            w.put(UInt8(ascii: "["))
            for (index, tag) in tags.enumerated() {
                if index > 0 { w.put(UInt8(ascii: ",")) }
                w.string(tag)
            }
            w.put(UInt8(ascii: "]"))
        }
        w.close()
    }
}

extension EventView {
    /// `log.origin` and `log.syslog`, inside the `log` object.
    static func encodeLogFacts(_ f: SourceFacts, _ w: inout JSONWriter) {
        if f.originFile != nil || f.originLine != nil {
            w.begin("origin"); w.begin("file")
            if let name = f.originFile { w.field("name", name) }
            if let line = f.originLine { w.field("line", line) }
            w.close(); w.close()
        }
        if f.syslogHostname != nil || f.syslogFacility != nil || f.syslogSeverity != nil {
            w.begin("syslog")
            if let host = f.syslogHostname { w.field("hostname", host) }
            if let code = f.syslogFacility { w.begin("facility"); w.field("code", code); w.close() }
            if let code = f.syslogSeverity { w.begin("severity"); w.field("code", code); w.close() }
            w.close()
        }
    }

    /// The top-level objects only source facts fill: process, client, user, user_agent, kubernetes, container.
    static func encodeSourceObjects(_ f: SourceFacts, _ w: inout JSONWriter) {
        if f.processName != nil || f.processPID != nil || f.threadName != nil || f.threadID != nil {
            w.begin("process")
            if let name = f.processName { w.field("name", name) }
            if let pid = f.processPID { w.field("pid", pid) }
            if f.threadName != nil || f.threadID != nil {
                w.begin("thread")
                if let id = f.threadID { w.field("id", id) }
                if let name = f.threadName { w.field("name", name) }
                w.close()
            }
            w.close()
        }
        if let address = f.clientAddress { w.begin("client"); w.field("address", address); w.close() }
        if let user = f.userName { w.begin("user"); w.field("name", user); w.close() }
        if let agent = f.userAgent { w.begin("user_agent"); w.field("original", agent); w.close() }
        if f.kubernetesNamespace != nil || f.kubernetesPod != nil || f.kubernetesContainer != nil {
            w.begin("kubernetes")
            if let namespace = f.kubernetesNamespace { w.field("namespace", namespace) }
            if f.kubernetesPod != nil || f.kubernetesPodUID != nil {
                w.begin("pod")
                if let pod = f.kubernetesPod { w.field("name", pod) }
                if let uid = f.kubernetesPodUID { w.field("uid", uid) }
                w.close()
            }
            if let container = f.kubernetesContainer { w.begin("container"); w.field("name", container); w.close() }
            w.close()
        }
        if f.containerID != nil || f.containerStream != nil || f.kubernetesContainer != nil {
            w.begin("container")
            if let id = f.containerID { w.field("id", id) }
            if let name = f.kubernetesContainer { w.field("name", name) }
            if let stream = f.containerStream { w.field("stream", stream) }
            w.close()
        }
    }
}
