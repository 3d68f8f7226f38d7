/// Hand-written JSON output: the agent encodes every line it ships, so this avoids the cost of
/// a general encoder while producing nested ECS objects.
extension LogEvent {
    public func encoded() -> [UInt8] {
        var w = JSONWriter()
        w.open()
        w.field("@timestamp", timestamp)
        w.field("message", message)
        w.object("service") { $0.field("name", serviceName) }
        if let hostName { w.object("host") { $0.field("name", hostName) } }
        if level != nil || logger != nil || filePath != nil || fileOffset != nil {
            w.object("log") { log in
                if let level { log.field("level", level.rawValue) }
                if let logger { log.field("logger", logger) }
                if filePath != nil || fileOffset != nil {
                    log.object("file") { file in
                        if let filePath { file.field("path", filePath) }
                    }
                    if let fileOffset { log.field("offset", fileOffset) }
                }
            }
        }
        if let traceID { w.object("trace") { $0.field("id", traceID) } }
        if let spanID { w.object("span") { $0.field("id", spanID) } }
        if errorType != nil || errorMessage != nil || stackTrace != nil {
            w.object("error") { error in
                if let errorType { error.field("type", errorType) }
                if let errorMessage { error.field("message", errorMessage) }
                if let stackTrace { error.field("stack_trace", stackTrace) }
            }
        }
        if httpMethod != nil || httpStatus != nil {
            w.object("http") { http in
                if let httpMethod { http.object("request") { $0.field("method", httpMethod) } }
                if let httpStatus { http.object("response") { $0.field("status_code", Int64(httpStatus)) } }
            }
        }
        if let urlPath { w.object("url") { $0.field("path", urlPath) } }
        if eventID != nil || durationNs != nil || original != nil {
            w.object("event") { event in
                if let eventID { event.field("id", eventID) }
                if let durationNs { event.field("duration", durationNs) }
                if let original { event.field("original", original) }
            }
        }
        if !labels.isEmpty {
            w.object("labels") { object in
                for (key, value) in labels { object.field(key, value) }
            }
        }
        if !tags.isEmpty { w.array("tags", tags) }
        w.close()
        return w.bytes
    }
}

struct JSONWriter {
    var bytes: [UInt8] = []
    private var needsComma = false

    init() { bytes.reserveCapacity(512) }

    mutating func open() { bytes.append(UInt8(ascii: "{")); needsComma = false }
    mutating func close() { bytes.append(UInt8(ascii: "}")); needsComma = true }

    mutating func key(_ name: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        JSONWriter.appendString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma = true
    }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        JSONWriter.appendString(value, to: &bytes)
    }

    mutating func field(_ name: String, _ value: Int64) {
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func object(_ name: String, _ body: (inout JSONWriter) -> Void) {
        key(name)
        open()
        body(&self)
        close()
    }

    mutating func array(_ name: String, _ values: [String]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(value, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var copy = string
        copy.withUTF8 { buffer in
            var runStart = 0
            for index in 0..<buffer.count {
                let byte = buffer[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<index]))
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
                case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
                case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
                default: out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
                }
                runStart = index + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[runStart..<buffer.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
