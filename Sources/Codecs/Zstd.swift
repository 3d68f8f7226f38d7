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
    /// bytes decoded cleanly first.
    public static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        let (output, error) = decompressPartially(input)
        if let error { throw error }
        return output
    }

    /// Decompresses as much as decodes cleanly: the bytes, and the error that stopped it (nil
    /// when the whole input was sound). Callers keep what came before the damage.
    public static func decompressPartially(_ input: [UInt8]) -> (bytes: [UInt8], error: Error?) {
        guard let stream = ZSTD_createDStream() else { return ([], Error(description: "zstd: out of memory")) }
        defer { ZSTD_freeDStream(stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        var lastResult = 0
        var failure: Error?
        input.withUnsafeBytes { source in
            var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
            // Until the input is used up and the decoder has no more output to give.
            while failure == nil {
                let produced = chunk.withUnsafeMutableBytes { target -> Int in
                    var outBuffer = ZSTD_outBuffer(dst: target.baseAddress, size: target.count, pos: 0)
                    let result = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    if ZSTD_isError(result) != 0 {
                        failure = Error(description: "zstd: corrupt data after \(output.count) decoded bytes: \(String(cString: ZSTD_getErrorName(result)))")
                    }
                    lastResult = result
                    return outBuffer.pos
                }
                output.append(contentsOf: chunk[0..<produced])
                if inBuffer.pos == inBuffer.size && produced < chunk.count { break }
            }
        }
        if failure == nil, lastResult != 0 {
            failure = Error(description: "zstd: input truncated after \(output.count) decoded bytes")
        }
        return (output, failure)
    }
}
