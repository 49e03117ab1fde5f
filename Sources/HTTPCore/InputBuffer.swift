/// Received bytes not yet consumed by a parser, with a read index and a scan mark so that searching
/// for the end of a head never rescans old bytes. Internal to HTTPCore; owned by one parser.
struct InputBuffer: Sendable {
    var bytes: [UInt8] = []
    /// First unconsumed byte.
    var start = 0
    /// Bytes before this index have been searched for a head terminator.
    var scanned = 0

    /// Number of unconsumed bytes.
    var readable: Int { bytes.count - start }

    /// Appends input, first compacting consumed bytes when that is cheap or overdue.
    mutating func append(_ input: some Sequence<UInt8>) {
        if start > 0 && (start >= bytes.count || start > 65_536) {
            bytes.removeSubrange(0..<start)
            scanned -= start
            start = 0
        }
        bytes.append(contentsOf: input)
    }

    /// Marks `n` bytes as consumed (and scanned).
    mutating func consume(_ n: Int) {
        start += n
        scanned = max(scanned, start)
    }

    /// Index just past the next CRLFCRLF, or nil (remembering how far it searched).
    mutating func findHeadEnd() -> Int? {
        if let end = HTTPHead.findEnd(bytes, start: start, from: scanned) { return end }
        scanned = bytes.count
        return nil
    }
}
