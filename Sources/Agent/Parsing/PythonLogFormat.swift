/// A Python `logging` format string (e.g. `%(asctime)s %(levelname)s [%(name)s] %(message)s`)
/// compiled into a matcher for the lines it produces. Spaces in the format match one or more
/// spaces, so padded fields (`%(levelname)-8s`) work.
public struct PythonLogFormat: Sendable {
    enum Token: Equatable, Sendable {
        case literal([UInt8])
        case field(String)
    }

    public static let standard = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
    let tokens: [Token]

    enum FieldKind: Sendable { case literal, message, asctime, levelname, name, other }

    /// The tokens flattened for the per-line match: plain values, the literals' bytes in one
    /// array (no enum payload to retain, no nested array per token, no field name compared).
    struct Step: Sendable {
        /// How the token is matched.
        var kind: FieldKind
        /// A literal's bytes in `literalBytes`.
        var literal: Range<Int>
        /// Where an `other` field stops: the first byte of the literal after it (a space if none).
        var stop: UInt8
    }
    let steps: [Step]
    let literalBytes: [UInt8]

    /// Where the fields the parser uses lie in a matched line; empty when absent.
    struct Fields {
        var message = 0..<0
        var asctime = 0..<0
        var levelname = 0..<0
        var name = 0..<0
    }

    public init(_ format: String = PythonLogFormat.standard) {
        var tokens: [Token] = []
        var literal: [UInt8] = []
        let b = Array(format.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "("),
               let close = b[(i + 2)...].firstIndex(of: UInt8(ascii: ")")) {
                if !literal.isEmpty { tokens.append(.literal(literal)); literal = [] }
                tokens.append(.field(String(decoding: b[(i + 2)..<close], as: UTF8.self)))
                // Skip the conversion spec: flags, width, precision, then the type letter.
                var j = close + 1
                while j < b.count, !(b[j] >= 97 && b[j] <= 122) { j += 1 }
                i = j + 1
            } else {
                literal.append(b[i])
                i += 1
            }
        }
        if !literal.isEmpty { tokens.append(.literal(literal)) }
        self.tokens = tokens
        var bytes: [UInt8] = []
        var steps: [Step] = []
        for (index, token) in tokens.enumerated() {
            var step = Step(kind: .literal, literal: 0..<0, stop: 32)
            switch token {
            case .literal(let literal):
                step.literal = bytes.count..<(bytes.count + literal.count)
                bytes += literal
            case .field(let name):
                switch name {
                case "message": step.kind = .message
                case "asctime": step.kind = .asctime
                case "levelname": step.kind = .levelname
                case "name": step.kind = .name
                default: step.kind = .other
                }
                if index + 1 < tokens.count, case .literal(let next) = tokens[index + 1], let first = next.first { step.stop = first }
            }
            steps.append(step)
        }
        self.steps = steps
        literalBytes = bytes
    }

    /// The byte ranges of the fields of one line, or nil when the line is not in this format.
    public func match(_ bytes: [UInt8]) -> [String: Range<Int>]? {
        var fields: [String: Range<Int>] = [:]
        let matched = bytes.withUnsafeBufferPointer { matchRanges($0) { name, range in fields[name] = range } }
        return matched == nil ? nil : fields
    }

    /// Matches one line (bytes, no newline); `each` gets every field's name and range.
    func matchRanges(_ bytes: UnsafeBufferPointer<UInt8>, each: ((String, Range<Int>) -> Void)? = nil) -> Fields? {
        var fields = Fields()
        let matched = steps.withUnsafeBufferPointer { steps in
            literalBytes.withUnsafeBufferPointer { literals in
                match(bytes, steps, literals, into: &fields, each: each)
            }
        }
        return matched ? fields : nil
    }

    private func match(_ bytes: UnsafeBufferPointer<UInt8>, _ steps: UnsafeBufferPointer<Step>, _ literals: UnsafeBufferPointer<UInt8>,
                       into fields: inout Fields, each: ((String, Range<Int>) -> Void)?) -> Bool {
        var pos = 0
        let n = bytes.count
        for index in 0..<steps.count {
            let step = steps[index]
            let start = pos
            switch step.kind {
            case .literal:
                for k in step.literal {
                    let byte = literals[k]
                    if byte == 32 {
                        guard pos < n, bytes[pos] == 32 else { return false }
                        while pos < n, bytes[pos] == 32 { pos += 1 }
                    } else {
                        guard pos < n, bytes[pos] == byte else { return false }
                        pos += 1
                    }
                }
                continue
            case .message:
                pos = n
                fields.message = start..<pos
            case .asctime:
                guard let end = Self.timestampEnd(bytes, from: pos) else { return false }
                pos = end
                fields.asctime = start..<pos
            case .levelname:
                while pos < n, Self.isLetter(bytes[pos]) { pos += 1 }
                guard pos > start else { return false }
                fields.levelname = start..<pos
            case .name, .other:
                while pos < n, bytes[pos] != step.stop { pos += 1 }
                if step.kind == .name { fields.name = start..<pos }
            }
            if let each, case .field(let name) = tokens[index] { each(name, start..<pos) }
        }
        return true
    }

    static func isLetter(_ byte: UInt8) -> Bool { (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) }

    /// Whether all eight bytes of `w` are ASCII digits: `w ^ "00000000"` leaves each a value
    /// 0–9, and adding 0x76 to a byte above 9 (or any byte from 0x80) sets its top bit.
    @inline(__always) static func allDigits(_ w: UInt64) -> Bool {
        let t = w ^ 0x3030_3030_3030_3030
        return ((t &+ 0x7676_7676_7676_7676) | t) & 0x8080_8080_8080_8080 == 0
    }

    /// `YYYY-MM-DD[ T]HH:MM:SS` then optional `,mmm`/`.ffffff` and zone; returns the end index.
    static func timestampEnd(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start + 19 <= b.count, let base = b.baseAddress else { return nil }
        // YYYY-MM-DD?HH:MM:SS: the separators, then digits everywhere else, eight bytes at a
        // time (bytes 0–7, 8–15, 11–18) with each separator's place set to "0".
        let p = base + start
        guard p[4] == 45, p[7] == 45, p[10] == 32 || p[10] == 84, p[13] == 58, p[16] == 58 else { return nil }
        @inline(__always) func word(_ offset: Int) -> UInt64 { UInt64(littleEndian: UnsafeRawPointer(p + offset).loadUnaligned(as: UInt64.self)) }
        // Little-endian: byte k of a word is bits 8k…8k+7.
        let first = (word(0) & ~(0xFF << 32 | 0xFF << 56)) | (0x30 << 32 | 0x30 << 56)    // 4 and 7: -
        let second = (word(8) & ~(0xFF << 16 | 0xFF << 40)) | (0x30 << 16 | 0x30 << 40)   // 10: space or T, 13: :
        let third = (word(11) & ~(0xFF << 16 | 0xFF << 40)) | (0x30 << 16 | 0x30 << 40)   // 13 and 16: :
        guard Self.allDigits(first), Self.allDigits(second), Self.allDigits(third) else { return nil }
        var pos = start + 19
        if pos < b.count, b[pos] == 44 || b[pos] == 46 {
            pos += 1
            while pos < b.count, b[pos] >= 48 && b[pos] <= 57 { pos += 1 }
        }
        if pos < b.count, b[pos] == 90 { pos += 1 }
        else if pos + 2 < b.count, b[pos] == 43 || b[pos] == 45, b[pos + 1] >= 48 && b[pos + 1] <= 57 {
            pos += 1
            while pos < b.count, (b[pos] >= 48 && b[pos] <= 57) || b[pos] == 58 { pos += 1 }
        }
        return pos
    }
}
