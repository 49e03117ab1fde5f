/// Reads a fuzzer input as a few control bytes (options, chunk sizes) followed by the payload. Missing
/// control bytes read as zero, so every input, even the empty one, is valid. Pure value.
public struct FuzzInput {
    /// The whole input.
    public let bytes: [UInt8]
    /// Index of the next unread byte.
    public private(set) var position = 0

    /// Wraps `bytes`; nothing is read yet.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// Everything not yet read.
    public var rest: ArraySlice<UInt8> { bytes[min(position, bytes.count)...] }

    /// Splits `payload` into pieces of `size` bytes (the last may be shorter); `size` 0 means one piece.
    public static func chunks(_ payload: ArraySlice<UInt8>, size: Int) -> [ArraySlice<UInt8>] {
        guard size > 0, payload.count > size else { return payload.isEmpty ? [] : [payload] }
        var pieces: [ArraySlice<UInt8>] = []
        var start = payload.startIndex
        while start < payload.endIndex {
            let end = min(start + size, payload.endIndex)
            pieces.append(payload[start..<end])
            start = end
        }
        return pieces
    }
}
