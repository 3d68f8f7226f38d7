import CZstd

/// zstd frames over libzstd, for archive segments and anything else logship stores compressed.
public enum Zstd {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    public static func compress(_ input: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let written = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                ZSTD_compress(target.baseAddress, target.count, source.baseAddress, source.count, level)
            }
        }
        if ZSTD_isError(written) != 0 { throw Error(description: "zstd compress: \(String(cString: ZSTD_getErrorName(written)))") }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses every frame in `input`. A truncated or corrupt input throws, saying how many
    /// bytes decoded cleanly first, so callers can keep what came before the damage.
    public static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        guard let stream = ZSTD_createDStream() else { throw Error(description: "zstd: out of memory") }
        defer { ZSTD_freeDStream(stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        var lastResult = 0
        try input.withUnsafeBytes { source in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            while inBuffer.pos < inBuffer.size {
                let produced = try chunk.withUnsafeMutableBytes { target -> Int in
                    var outBuffer = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                    let result = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    if ZSTD_isError(result) != 0 {
                        throw Error(description: "zstd: corrupt data after \(output.count) decoded bytes: \(String(cString: ZSTD_getErrorName(result)))")
                    }
                    lastResult = result
                    return outBuffer.pos
                }
                output.append(contentsOf: chunk[0..<produced])
            }
        }
        if lastResult != 0 {
            throw Error(description: "zstd: input truncated after \(output.count) decoded bytes")
        }
        return output
    }
}
