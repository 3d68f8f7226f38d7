import CByteScan

/// A growable byte buffer written through a pointer: the encoder's output, reused from event
/// to event by the agent (no allocation per event once it has grown).
public final class OutputBuffer {
    public private(set) var base: UnsafeMutablePointer<UInt8>
    public private(set) var capacity: Int
    public var count = 0

    public init(capacity: Int = 1024) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func grow(to minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}

/// The encoded runs of keys and values that repeat from event to event of one file: the
/// service and host objects, and `log.file`. The agent's shipping thread keeps one per input, so
/// an event copies them whole instead of encoding four keys and two strings again.
public struct EncodedRuns {
    struct Run {
        var first: String?
        var second: String?
        var bytes: [UInt8] = []
    }
    var source = Run()
    var file = Run()
    let enabled: Bool

    public init() { enabled = true }
    init(enabled: Bool) { self.enabled = enabled }
}

/// Writes JSON into an `OutputBuffer`. The write position lives in this struct while encoding
/// (a class property would pay a dynamic exclusivity check on every byte); `finish()` hands
/// the result back to the buffer.
struct JSONWriter {
    private let buffer: OutputBuffer
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var needsComma = false

    init(_ buffer: OutputBuffer) {
        self.buffer = buffer
        base = buffer.base
        capacity = buffer.capacity
    }

    mutating func finish() { buffer.count = count }

    @inline(__always) mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    mutating func grow(_ minimum: Int) {
        buffer.count = count
        buffer.grow(to: minimum)
        base = buffer.base
        capacity = buffer.capacity
    }

    @inline(__always) mutating func put(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        if bytes.count <= 16 {
            // Most values are short (names, levels, ids): a call to memcpy costs more than the copy.
            for k in 0..<bytes.count { base[count + k] = source[k] }
        } else {
            (base + count).update(from: source, count: bytes.count)
        }
        count += bytes.count
    }

    /// Bytes known at compile time, copied as they are.
    @inline(__always) mutating func put(_ literal: StaticString) {
        put(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Divisions by the constant 10 only (multiplications once compiled).
    mutating func put(decimal value: Int64) {
        reserve(21)
        if value < 0 { base[count] = UInt8(ascii: "-"); count += 1 }
        var magnitude = value.magnitude
        var digits = 1, rest = magnitude
        while rest >= 10 { rest /= 10; digits += 1 }
        var at = count + digits
        repeat {
            at -= 1
            base[at] = UInt8(truncatingIfNeeded: 48 &+ magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        count += digits
    }

    mutating func open() { put(UInt8(ascii: "{")); needsComma = false }

    /// Copies `run` (keys and values recorded by `endRun`) when it was recorded for `first` and
    /// `second`; false (nothing written) otherwise.
    mutating func replay(_ run: EncodedRuns.Run, _ first: String?, _ second: String?) -> Bool {
        guard !run.bytes.isEmpty, run.first == first, run.second == second else { return false }
        if needsComma { put(UInt8(ascii: ",")) }
        run.bytes.withUnsafeBufferPointer { put($0) }
        needsComma = true
        return true
    }

    /// Where a run to record starts (after the comma that separates it from what precedes it).
    mutating func startRun() -> Int {
        if needsComma { put(UInt8(ascii: ",")) }
        needsComma = false
        return count
    }

    /// Records what was written since `start` as the run for `first` and `second`.
    func endRun(_ run: inout EncodedRuns.Run, from start: Int, _ first: String?, _ second: String?) {
        run = EncodedRuns.Run(first: first, second: second, bytes: Array(UnsafeBufferPointer(start: base + start, count: count - start)))
    }
    mutating func close() { put(UInt8(ascii: "}")); needsComma = true }

    /// A key known at compile time (ASCII, nothing to escape): copied as is.
    /// Keys are a few bytes long: word copies beat a call to memcpy, and one `reserve` covers it all.
    /// Inlined: the literal's length and bytes are then constants, the branches fold away and
    /// the copy is one or two stores of immediate words.
    @inline(__always)
    mutating func key(_ name: StaticString) {
        let length = name.utf8CodeUnitCount
        reserve(length + 4)
        if needsComma { base[count] = UInt8(ascii: ","); count += 1 }
        let out = base + count
        let source = name.utf8Start
        out[0] = UInt8(ascii: "\"")
        // Two overlapping word copies instead of a byte loop (most keys are 4–16 bytes; the
        // reservation above covers the writes, the literal's bytes the reads).
        let to = UnsafeMutableRawPointer(out + 1), from = UnsafeRawPointer(source)
        if length > 16 {
            for k in 0..<length { out[k + 1] = source[k] }
        } else if length >= 8 {
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self), toByteOffset: length - 8, as: UInt64.self)
        } else if length >= 4 {
            to.storeBytes(of: from.loadUnaligned(as: UInt32.self), as: UInt32.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self), toByteOffset: length - 4, as: UInt32.self)
        } else {
            for k in 0..<length { out[k + 1] = source[k] }
        }
        out[length + 1] = UInt8(ascii: "\"")
        out[length + 2] = UInt8(ascii: ":")
        count += length + 3
        needsComma = true
    }

    mutating func key(dynamic name: String) {
        if needsComma { put(UInt8(ascii: ",")) }
        string(name)
        put(UInt8(ascii: ":"))
        needsComma = true
    }

    mutating func begin(_ name: StaticString) {
        key(name)
        open()
    }

    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func field(_ name: StaticString, _ value: InlineText) {
        key(name)
        value.withUTF8 { string(bytes: $0) }
    }

    mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        put(decimal: value)
    }

    mutating func string(_ value: String) {
        var copy = value
        copy.withUTF8 { string(bytes: $0) }
    }

    /// A JSON string literal: runs of plain bytes (found sixteen at a time) are copied whole;
    /// quotes, backslashes and control characters are escaped.
    mutating func string(bytes: UnsafeBufferPointer<UInt8>) {
        reserve(bytes.count + 2)
        put(UInt8(ascii: "\""))
        guard let start = bytes.baseAddress else { put(UInt8(ascii: "\"")); return }
        let n = bytes.count
        var index = 0
        while true {
            let plain = logship_json_plain_prefix(start + index, n - index)
            put(UnsafeBufferPointer(start: start + index, count: plain))
            index += plain
            guard index < n else { break }
            let byte = start[index]
            index += 1
            put(92)
            switch byte {
            case UInt8(ascii: "\""): put(34)
            case UInt8(ascii: "\\"): put(92)
            case 0x0A: put(UInt8(ascii: "n"))
            case 0x0D: put(UInt8(ascii: "r"))
            case 0x09: put(UInt8(ascii: "t"))
            default:
                put(UInt8(ascii: "u")); put(48); put(48)
                put(EventID.hexDigit(UInt64(byte >> 4))); put(EventID.hexDigit(UInt64(byte)))
            }
        }
        put(UInt8(ascii: "\""))
    }
}
