import Foundation
import LogModel

/// Container runtimes (CRI, Docker json-file) and the Kubernetes metadata of their paths.
extension SourceFormats {

    /// One CRI line: `2026-12-06T04:00:31.123456789Z stdout F text` (`P` marks a partial line
    /// that the next continues). Nil when the line is not one.
    static func criLine(_ b: UnsafeBufferPointer<UInt8>) -> (time: Range<Int>, stream: Range<Int>, partial: Bool, content: Range<Int>)? {
        var c = ByteCursor(b)
        let time = c.word()
        guard time.count >= 20, b[time.lowerBound + 4] == 45, c.expect(32) else { return nil }
        let stream = c.word()
        guard c.expect(32), let tag = c.peek, tag == 80 || tag == 70 else { return nil }
        c.pos += 1
        guard c.atEnd || c.expect(32) else { return nil }
        return (time, stream, tag == 80, c.rest)
    }

    /// Whether a container line is partial (the runtime split a long line): CRI `P`, or a
    /// Docker json-file `log` value without its final newline.
    static func isPartialContainerLine(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        if let first = b.first, first == 123 {
            // `{"log":"…\n","stream":…}`: a complete line's value ends with an escaped newline.
            guard let end = SecretMasker.find(b, from: 0, "\",\"stream\"") else { return false }
            return !(end >= 2 && b[end - 2] == 92 && b[end - 1] == 110)
        }
        return criLine(b)?.partial ?? false
    }

    /// Unwraps a container record (one or more CRI or Docker json-file lines, partial ones
    /// joined): the application's own text, and the runtime's time and stream.
    static func unwrapContainer(_ record: [UInt8], docker: Bool) -> (content: [UInt8], time: String?, stream: String?)? {
        var content: [UInt8] = []
        var time: String?, stream: String?
        var ok = false
        for line in record.split(separator: 10, omittingEmptySubsequences: true) {
            if docker {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let log = object["log"] as? String else { return ok ? (content, time, stream) : nil }
                var text = Array(log.utf8)
                if text.last == 10 { text.removeLast() }
                if text.last == 13 { text.removeLast() }
                content += text
                time = time ?? (object["time"] as? String).flatMap { Timestamps.normalise($0) }
                stream = stream ?? object["stream"] as? String
            } else {
                let parsed = line.withUnsafeBufferPointer { b -> (String, String, [UInt8])? in
                    guard let cri = criLine(b) else { return nil }
                    return (String(decoding: UnsafeBufferPointer(rebasing: b[cri.time]), as: UTF8.self),
                            String(decoding: UnsafeBufferPointer(rebasing: b[cri.stream]), as: UTF8.self),
                            Array(b[cri.content]))
                }
                guard let (t, s, text) = parsed else { return ok ? (content, time, stream) : nil }
                content += text
                time = time ?? Timestamps.normalise(t)
                stream = stream ?? s
            }
            ok = true
        }
        return ok ? (content, time, stream) : nil
    }

    /// Kubernetes metadata from a container log's path: `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`
    /// or `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log`.
    static func kubernetesFacts(path: String) -> SourceFacts? {
        let parts = path.split(separator: "/")
        if let index = parts.lastIndex(of: "containers"), index + 1 == parts.count - 1, parts[index + 1].hasSuffix(".log") {
            let name = parts[index + 1].dropLast(4)
            let fields = name.split(separator: "_", maxSplits: 2)
            guard fields.count == 3, let dash = fields[2].lastIndex(of: "-") else { return nil }
            var facts = SourceFacts()
            facts.kubernetesPod = String(fields[0])
            facts.kubernetesNamespace = String(fields[1])
            facts.kubernetesContainer = String(fields[2][..<dash])
            let id = fields[2][fields[2].index(after: dash)...]
            if !id.isEmpty { facts.containerID = String(id) }
            return facts
        }
        if let index = parts.lastIndex(of: "pods"), index + 3 == parts.count - 1 {
            let fields = parts[index + 1].split(separator: "_", maxSplits: 2)
            guard fields.count == 3 else { return nil }
            var facts = SourceFacts()
            facts.kubernetesNamespace = String(fields[0])
            facts.kubernetesPod = String(fields[1])
            facts.kubernetesPodUID = String(fields[2])
            facts.kubernetesContainer = String(parts[index + 2])
            return facts
        }
        return nil
    }
}
