import Foundation
import LogModel

/// Reads one file from an offset, splits it into lines and records. Holds the file open, so a
/// renamed or deleted file is still read to its end. Detects truncation (copytruncate).
typealias RecordSink = (Record, String, AckTracker) -> Void

final class FileTailer {
    private(set) var path: String
    let device: UInt64
    let inode: UInt64
    let input: InputPipeline
    private let fd: Int32
    private(set) var identity: String?
    private(set) var tracker: AckTracker
    /// Next byte to read.
    private(set) var readOffset: Int64
    private var partial: [UInt8] = []
    private var partialStart: Int64 = 0
    private var skippingLongLine = false
    private var multiline: MultilineAggregator
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
        hash.add(bytes: head[0..<end])
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
        if currentSize > readOffset {
            lastGrowthAt = now
            var buffer = [UInt8](repeating: 0, count: Self.chunkBytes)
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Self.chunkBytes, off_t(readOffset)) }
            // Replaced between the check above and this read? Then the chunk is not ours: drop it,
            // the next poll sees the truncation.
            if count > 0 && FileTailer.fingerprint(fd: fd) != identity { return true }
            if count > 0 {
                stats.add(\.bytesRead, Int64(count))
                split(buffer[0..<count], now: now, into: &records, stats: stats)
                readOffset += Int64(count)
                didRead = true
            }
        }
        if let pending = multiline.flush(now: now) { records.append(pending) }
        if let identity { for record in records { sink(record, identity, tracker) } }
        return didRead
    }

    /// At the end of a rotated file: the last line may have no newline; emit it and any pending record.
    func finish(now: Int64, stats: AgentStats, sink: RecordSink) {
        var records: [Record] = []
        if !partial.isEmpty {
            emitLine(partial[...], start: partialStart, end: readOffset, now: now, into: &records, stats: stats)
            partial = []
        }
        if let pending = multiline.flush(now: now, force: true) { records.append(pending) }
        if let identity { for record in records { sink(record, identity, tracker) } }
    }

    /// On shutdown: a record still waiting for continuation lines is complete enough to ship.
    func flushPending(now: Int64, sink: RecordSink) {
        if let pending = multiline.flush(now: now, force: true), let identity { sink(pending, identity, tracker) }
    }

    var registryEntry: RegistryEntry? {
        guard let identity else { return nil }
        return RegistryEntry(identity: identity, path: path, device: device, inode: inode,
                             offset: tracker.committedOffset, updated: Date().timeIntervalSince1970)
    }

    /// Everything read has been shipped and acknowledged.
    var isDrained: Bool { partial.isEmpty && multiline.isEmpty && tracker.pendingCount == 0 && readOffset >= size }

    private func split(_ chunk: ArraySlice<UInt8>, now: Int64, into records: inout [Record], stats: AgentStats) {
        var lineStart = chunk.startIndex
        var position = readOffset
        while let newline = chunk[lineStart...].firstIndex(of: 10) {
            let piece = chunk[lineStart..<newline]
            let end = position + Int64(newline - lineStart) + 1
            if skippingLongLine {
                skippingLongLine = false
            } else if partial.isEmpty {
                emitLine(piece, start: position, end: end, now: now, into: &records, stats: stats)
            } else {
                partial.append(contentsOf: piece)
                emitLine(partial[...], start: partialStart, end: end, now: now, into: &records, stats: stats)
            }
            partial.removeAll(keepingCapacity: true)
            position = end
            partialStart = end
            lineStart = newline + 1
        }
        if lineStart < chunk.endIndex {
            if partial.isEmpty { partialStart = position }
            if !skippingLongLine { partial.append(contentsOf: chunk[lineStart...]) }
            if partial.count > maxLineBytes {
                // A line longer than the limit: ship its head, flagged, and skip the rest.
                emitLine(partial[...], start: partialStart, end: position + Int64(chunk.endIndex - lineStart), now: now,
                         into: &records, stats: stats)
                partial.removeAll(keepingCapacity: true)
                skippingLongLine = true
            }
        }
    }

    private func emitLine(_ raw: ArraySlice<UInt8>, start: Int64, end: Int64, now: Int64, into records: inout [Record], stats: AgentStats) {
        stats.add(\.linesRead, 1)
        var bytes = raw
        var tags: [String] = []
        if bytes.last == 13 { bytes = bytes.dropLast() }  // CRLF
        if bytes.count > maxLineBytes {
            bytes = bytes.prefix(maxLineBytes)
            tags.append("truncated")
            stats.add(\.truncatedLines, 1)
        }
        var line: String
        let hasNUL = bytes.withUnsafeBytes { $0.isEmpty ? false : memchr($0.baseAddress!, 0, $0.count) != nil }
        if !hasNUL, let valid = String(validating: bytes, as: UTF8.self) {
            line = valid
        } else {
            line = String(decoding: bytes, as: UTF8.self)
            tags.append("invalid_utf8")
            stats.add(\.invalidUTF8Lines, 1)
        }
        if hasNUL {
            line = String(line.map { $0 == "\0" ? "\u{FFFD}" : $0 })
            if !tags.contains("invalid_utf8") { tags.append("invalid_utf8"); stats.add(\.invalidUTF8Lines, 1) }
        }
        if let record = multiline.add(line, offset: start, endOffset: end, tags: tags, now: now) {
            records.append(record)
        }
    }

    func relocate(to newPath: String) { path = newPath }
}
