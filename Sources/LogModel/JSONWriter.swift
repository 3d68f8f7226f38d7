import CByteScan

/// A growable byte buffer written through a pointer: the encoder's output, reused from event
/// to event by the agent (no allocation per event once it has grown). Its state sits behind a
/// pointer, not in stored properties: every event reads and writes it, and a class's stored
/// `var` costs a dynamic exclusivity check (a runtime call) at each access.
public final class OutputBuffer {
    struct State {
        var base: UnsafeMutablePointer<UInt8>
        var capacity: Int
        var count: Int
    }
    let state: UnsafeMutablePointer<State>

    public init(capacity: Int = 1024) {
        let capacity = max(capacity, 16)
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(capacity: capacity), capacity: capacity, count: 0))
    }

    deinit {
        state.pointee.base.deallocate()
        state.deallocate()
    }

    public var base: UnsafeMutablePointer<UInt8> { state.pointee.base }
    public var capacity: Int { state.pointee.capacity }
    public var count: Int {
        get { state.pointee.count }
        set { state.pointee.count = newValue }
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func grow(to minimum: Int) {
        let newCapacity = max(minimum, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        state.pointee.base.deallocate()
        state.pointee.base = newBase
        state.pointee.capacity = newCapacity
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

    // Positions and lengths here are bounded by the buffer's capacity (and every write by a
    // `reserve` before it): their arithmetic wraps (`&+`) instead of checking for overflow, a
    // check and a branch per byte count on the per-line path.
    @inline(__always) mutating func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(count &+ extra) }
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
        count &+= 1
    }

    @inline(__always) mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        Self.copy(base + count, source, bytes.count)
        count &+= bytes.count
    }

    /// Copies `count` bytes. Most are short (keys, names, levels, ids): up to 16 bytes take two
    /// overlapping word copies (the reads stay within the source, the writes within the
    /// reservation), as a call to memcpy costs more than such a copy.
    @inline(__always) static func copy(_ out: UnsafeMutablePointer<UInt8>, _ source: UnsafePointer<UInt8>, _ count: Int) {
        let to = UnsafeMutableRawPointer(out), from = UnsafeRawPointer(source)
        if count > 16 {
            out.update(from: source, count: count)
        } else if count >= 8 {
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self), toByteOffset: count &- 8, as: UInt64.self)
        } else if count >= 4 {
            to.storeBytes(of: from.loadUnaligned(as: UInt32.self), as: UInt32.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self), toByteOffset: count &- 4, as: UInt32.self)
        } else {
            for k in 0..<count { out[k] = source[k] }
        }
    }

    /// Bytes known at compile time, copied as they are.
    @inline(__always) mutating func put(_ literal: StaticString) {
        put(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Divisions by the constant 100 only (multiplications once compiled), two digits a step.
    mutating func put(decimal value: Int64) {
        reserve(21)
        if value < 0 { base[count] = UInt8(ascii: "-"); count &+= 1 }
        count &+= logship_decimal_u64(value.magnitude, base + count)
    }

    @inline(__always)
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
    @inline(__always)
    mutating func close() { put(UInt8(ascii: "}")); needsComma = true }

    /// A key known at compile time (ASCII, nothing to escape): copied as is.
    /// Keys are a few bytes long: word copies beat a call to memcpy, and one `reserve` covers it all.
    /// Inlined: the literal's length and bytes are then constants, the branches fold away and
    /// the copy is one or two stores of immediate words.
    @inline(__always)
    mutating func key(_ name: StaticString) {
        let length = name.utf8CodeUnitCount
        reserve(length &+ 4)
        if needsComma { base[count] = UInt8(ascii: ","); count &+= 1 }
        let out = base + count
        let source = name.utf8Start
        out[0] = UInt8(ascii: "\"")
        Self.copy(out + 1, source, length)
        out[length &+ 1] = UInt8(ascii: "\"")
        out[length &+ 2] = UInt8(ascii: ":")
        count &+= length &+ 3
        needsComma = true
    }

    mutating func key(dynamic name: String) {
        if needsComma { put(UInt8(ascii: ",")) }
        string(name)
        put(UInt8(ascii: ":"))
        needsComma = true
    }

    @inline(__always)
    mutating func begin(_ name: StaticString) {
        key(name)
        open()
    }

    @inline(__always)
    mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    @inline(__always)
    mutating func field(_ name: StaticString, _ value: InlineText) {
        key(name)
        // Times and ids have nothing to escape: checked and copied in one step (the text's
        // 32-byte storage read whole), escaped the general way otherwise.
        reserve(InlineText.capacity + 2)
        let written = value.withUTF8 { logship_json_quote32($0.baseAddress!, $0.count, base + count) }
        if written > 0 { count &+= written } else { value.withUTF8 { string(bytes: $0) } }
    }

    @inline(__always)
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
        reserve(bytes.count &+ 2)
        put(UInt8(ascii: "\""))
        guard let start = bytes.baseAddress else { put(UInt8(ascii: "\"")); return }
        let n = bytes.count
        var index = 0
        while true {
            let plain = logship_json_plain_prefix(start + index, n - index)
            put(UnsafeBufferPointer(start: start + index, count: plain))
            index &+= plain
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
