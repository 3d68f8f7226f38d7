import CByteScan
import Foundation
import LogModel

/// Reads one file from an offset, splits it into lines and records. Holds the file open, so a
/// renamed or deleted file is still read to its end. Detects truncation (copytruncate).
typealias RecordSink = (consuming Record, String, AckTracker) -> Void

final class FileTailer {
    private(set) var path: String
    let device: UInt64
    let inode: UInt64
    private(set) var input: InputPipeline
    private let fd: Int32
    private(set) var identity: String?
    private(set) var tracker: AckTracker
    /// Next byte to read.
    private(set) var readOffset: Int64
    private var partial: [UInt8] = []
    private var partialStart: Int64 = 0
    private var skippingLongLine = false
    private var multiline: MultilineAggregator
    /// The agent's record buffers (`RecordBuffers`), for every aggregator of this file; nil elsewhere.
    var recordBuffers: RecordBuffers? {
        didSet { multiline.buffers = recordBuffers }
    }
    let maxLineBytes: Int
    /// Set when the path no longer leads to this file (rotated by rename, or deleted).
    var rotatedAway = false
    var lastGrowthAt: Int64

    static let fingerprintBytes = 1024
    static let chunkBytes = 256 * 1024

    init?(path: String, input: InputPipeline, registry: Registry, startAtEnd: Bool, maxLineBytes: Int, now: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); return nil }
        self.fd = fd
        self.path = path
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        self.input = input
        self.maxLineBytes = maxLineBytes
        multiline = input.makeAggregator()
        tracker = AckTracker(startOffset: 0)
        readOffset = 0
        lastGrowthAt = now
        if let id = FileTailer.fingerprint(fd: fd) {
            adopt(identity: id, registry: registry, startAtEnd: startAtEnd, size: Int64(st.st_size))
        }
    }

    deinit { close(fd) }

    var size: Int64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }

    var bytesBehind: Int64 { max(size - readOffset, 0) }

    private func adopt(identity id: String, registry: Registry, startAtEnd: Bool, size: Int64) {
        identity = id
        var start: Int64 = 0
        if let entry = registry.entries[id], entry.offset <= size {
            start = entry.offset
        } else if startAtEnd {
            start = size
        }
        readOffset = start
        partialStart = start
        tracker = AckTracker(startOffset: start)
    }

    /// The identity of a file: a hash of its first line (or first 1 KiB). Nil until the first
    /// line is complete, so a file still being written is not fingerprinted too early.
    static func fingerprint(fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: fingerprintBytes)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, fingerprintBytes, 0) }
        guard count > 0 else { return nil }
        let head = buffer[0..<count]
        let end: Int
        if let newline = head.firstIndex(of: 10) { end = newline + 1 }
        else if count == fingerprintBytes { end = count }
        else { return nil }
        var hash = StableHash()
        buffer.withUnsafeBufferPointer { hash.add(bytes: UnsafeBufferPointer(rebasing: $0[0..<end])) }
        return hash.hex
    }

    /// Reads what is new and returns the records completed. `registry` is needed to adopt an
    /// identity once the first line is complete.
    /// Reads what is new (one chunk at most) and hands each completed record to `sink` with the
    /// identity and tracker it belongs to. Returns whether anything was read.
    func poll(now: Int64, registry: Registry, stats: AgentStats, sink: RecordSink) -> Bool {
        let currentSize = size
        if identity == nil {
            guard let id = FileTailer.fingerprint(fd: fd) else { return false }
            adopt(identity: id, registry: registry, startAtEnd: false, size: currentSize)
        }
        // Truncated in place (copytruncate) — seen as a smaller size, or, when the writer already
        // wrote past our offset again, as a different first line: the content is new, read it from 0.
        if currentSize < readOffset || FileTailer.fingerprint(fd: fd) != identity {
            stats.add(\.truncations, 1)
            if let pending = multiline.flush(now: now, force: true), let identity { sink(pending, identity, tracker) }
            identity = nil
            readOffset = 0
            partial = []
            partialStart = 0
            skippingLongLine = false
            tracker = AckTracker(startOffset: 0)
            if let id = FileTailer.fingerprint(fd: fd) { adopt(identity: id, registry: registry, startAtEnd: false, size: currentSize) }
            return true
        }
        var records: [Record] = []
        var didRead = false
        var counts = AgentStats.Counters()
        if currentSize > readOffset {
            lastGrowthAt = now
            var count = 0
            let buffer = [UInt8](unsafeUninitializedCapacity: Self.chunkBytes) { buffer, initialized in
                count = pread(fd, buffer.baseAddress, Self.chunkBytes, off_t(readOffset))
                initialized = max(count, 0)
            }
            // Replaced between the check above and this read? Then the chunk is not ours: drop it,
            // the next poll sees the truncation.
            if count > 0 && FileTailer.fingerprint(fd: fd) != identity { return true }
            if count > 0 {
                counts.bytesRead = Int64(count)
                buffer.withUnsafeBufferPointer { split($0, now: now, into: &records, counts: &counts) }
                readOffset += Int64(count)
                didRead = true
            }
        }
        if let pending = multiline.flush(now: now) { records.append(pending) }
        if didRead { stats.add(counts) }
        if let identity { Self.hand(&records, to: sink, identity, tracker) }
        return didRead
    }

    /// Moves each record, in order, to `sink` (no copy of a record's bytes to retain and release).
    static func hand(_ records: inout [Record], to sink: RecordSink, _ identity: String, _ tracker: AckTracker) {
        records.reverse()
        while let record = records.popLast() { sink(record, identity, tracker) }
    }

    /// At the end of a rotated file: the last line may have no newline; emit it and any pending record.
    func finish(now: Int64, stats: AgentStats, sink: RecordSink) {
        var records: [Record] = []
        if !partial.isEmpty {
            var counts = AgentStats.Counters()
            partial.withUnsafeBufferPointer { emitLine($0, start: partialStart, end: readOffset, now: now, into: &records, counts: &counts) }
            stats.add(counts)
            partial = []
        }
        if let pending = multiline.flush(now: now, force: true) { records.append(pending) }
        if let identity { Self.hand(&records, to: sink, identity, tracker) }
    }

    /// On shutdown: a record still waiting for continuation lines is complete enough to ship.
    func flushPending(now: Int64, sink: RecordSink) {
        if let pending = multiline.flush(now: now, force: true), let identity { sink(pending, identity, tracker) }
    }

    /// A configuration reload changed this file's input: what is pending goes out through the
    /// old pipeline, the next records through `pipeline`. The read position does not move, so
    /// nothing is read twice or skipped.
    func adopt(_ pipeline: InputPipeline, now: Int64, sink: RecordSink) {
        flushPending(now: now, sink: sink)
        input = pipeline
        multiline = pipeline.makeAggregator()
        multiline.buffers = recordBuffers
    }

    /// Set when a reload removed this file's input: released once what was read is acknowledged.
    var released = false

    var registryEntry: RegistryEntry? {
        guard let identity else { return nil }
        return RegistryEntry(identity: identity, path: path, device: device, inode: inode,
                             offset: tracker.committedOffset, updated: Date().timeIntervalSince1970)
    }

    /// Everything read has been shipped and acknowledged.
    var isDrained: Bool { partial.isEmpty && multiline.isEmpty && tracker.pendingCount == 0 && readOffset >= size }

    private func split(_ chunk: UnsafeBufferPointer<UInt8>, now: Int64, into records: inout [Record],
                       counts: inout AgentStats.Counters) {
        var lineStart = 0
        var position = readOffset
        let base = chunk.baseAddress!
        while lineStart < chunk.count, let found = memchr(base + lineStart, 10, chunk.count - lineStart) {
            let newline = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            let piece = UnsafeBufferPointer(rebasing: chunk[lineStart..<newline])
            let end = position + Int64(newline - lineStart) + 1
            if skippingLongLine {
                skippingLongLine = false
            } else if partial.isEmpty {
                emitLine(piece, start: position, end: end, now: now, into: &records, counts: &counts)
            } else {
                partial.append(contentsOf: piece)
                partial.withUnsafeBufferPointer { emitLine($0, start: partialStart, end: end, now: now, into: &records, counts: &counts) }
            }
            partial.removeAll(keepingCapacity: true)
            position = end
            partialStart = end
            lineStart = newline + 1
        }
        if lineStart < chunk.count {
            if partial.isEmpty { partialStart = position }
            if !skippingLongLine { partial.append(contentsOf: chunk[lineStart...]) }
            if partial.count > maxLineBytes {
                // A line longer than the limit: ship its head, flagged, and skip the rest.
                let end = position + Int64(chunk.count - lineStart)
                partial.withUnsafeBufferPointer { emitLine($0, start: partialStart, end: end, now: now, into: &records, counts: &counts) }
                partial.removeAll(keepingCapacity: true)
                skippingLongLine = true
            }
        }
    }

    private func emitLine(_ raw: UnsafeBufferPointer<UInt8>, start: Int64, end: Int64, now: Int64, into records: inout [Record],
                          counts: inout AgentStats.Counters) {
        counts.linesRead += 1
        var bytes = raw
        var tags: [String] = []
        if bytes.last == 13 { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }  // CRLF
        if bytes.count > maxLineBytes {
            bytes = UnsafeBufferPointer(rebasing: bytes.prefix(maxLineBytes))
            tags.append("truncated")
            counts.truncatedLines += 1
        }
        let record: Record?
        if Self.isPlainText(bytes) {
            record = multiline.add(bytes: bytes, offset: start, endOffset: end, tags: tags, now: now)
        } else {
            // Invalid UTF-8 becomes U+FFFD, and so does NUL (binary garbage); the line is flagged.
            tags.append("invalid_utf8")
            counts.invalidUTF8Lines += 1
            var repaired = String(decoding: bytes, as: UTF8.self)
            if repaired.utf8.contains(0) { repaired = String(repaired.map { $0 == "\0" ? "\u{FFFD}" : $0 }) }
            record = repaired.withUTF8 { multiline.add(bytes: $0, offset: start, endOffset: end, tags: tags, now: now) }
        }
        if let record { records.append(record) }
    }

    /// Valid UTF-8 without NUL bytes. ASCII (the usual log line) is checked without decoding;
    /// anything else goes through the standard library's validation.
    static func isPlainText(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        // Sixteen bytes at a time (SSE2): a non-ASCII or a zero byte sends the line to the slow path.
        let index = logship_plain_ascii_prefix(base, bytes.count)
        if index == bytes.count { return true }
        if bytes[index] == 0 { return false }
        return memchr(bytes.baseAddress!, 0, bytes.count) == nil && String(validating: bytes, as: UTF8.self) != nil
    }

    func relocate(to newPath: String) { path = newPath }
}
