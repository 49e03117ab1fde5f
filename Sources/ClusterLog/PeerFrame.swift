/// One frame of the peer protocol: `u32 big-endian length | u8 kind | payload` where length counts
/// the kind byte and the payload. Pure value; any thread.
///
/// The transport authenticates a connection once (see `PeerAuth`), then carries frames in one
/// direction only: each node writes on the connections it dialled and reads on those it accepted.
public struct PeerFrame: Sendable, Equatable {
    /// What the payload is.
    public enum Kind: UInt8, Sendable {
        /// An encoded `Raft.Message`.
        case raft = 1
        /// Follower → leader: `u64 incarnation | u64 request seq | encoded SpoolCommand` to propose on
        /// the caller's behalf (the incarnation is random per start of the forwarding node, the
        /// sequence restarts at 1 with it). Kinds 2 and 3 were the layout without an incarnation.
        case forward = 7
        /// Leader → follower, for a forwarded proposal, echoing its incarnation and sequence:
        /// `u64 incarnation | u64 seq | 0 | u64 index | u64 term` once appended (the follower then
        /// waits for that entry to apply locally), or `u64 incarnation | u64 seq | 1 | code | reason |
        /// context` (u16-length strings) on failure. A reply for another incarnation is ignored.
        case forwardResult = 8
        /// Leader → all, every second: `u64 index` every member has replicated (the log may be
        /// compacted up to it), then `u8 count` and that many `u8 len | node id`: the members the
        /// leader heard from recently (the live set used for delivery ownership), then `u8` the log
        /// entry format the leader has every member write (absent from older builds: 1).
        case leaderView = 4
        /// Leader → follower on the bulk lane: `u64 stream id | u64 offset | bytes` of a spool snapshot.
        case snapshotChunk = 5
        /// Leader → follower: `u64 stream id | u64 total size | u64 index | u64 term | membership |
        /// u64 leader term` closes a snapshot stream (index and term of the spool copy's last
        /// applied entry; the term the leader sent it in). Kept only when from the current leader
        /// in the current term and ahead of the receiver's commit and applied indexes.
        case snapshotEnd = 6
        /// Client → server handshake (only as the first frame of a connection).
        case hello = 16
    }

    /// Frame kind.
    public var kind: Kind
    /// Payload bytes.
    public var payload: [UInt8]

    /// Creates a frame. Any thread.
    public init(_ kind: Kind, _ payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    /// The wire bytes (header and payload in one buffer, so one write). Any thread.
    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(5 + payload.count)
        let n = UInt32(payload.count + 1)
        out.append(UInt8(truncatingIfNeeded: n >> 24))
        out.append(UInt8(truncatingIfNeeded: n >> 16))
        out.append(UInt8(truncatingIfNeeded: n >> 8))
        out.append(UInt8(truncatingIfNeeded: n))
        out.append(kind.rawValue)
        out.append(contentsOf: payload)
        return out
    }

    /// Accumulates received bytes and cuts them into lines, fixed-size blocks and frames without
    /// copying more than once. Plain value; owned by one connection.
    public struct Reader: Sendable {
        private var buffer: [UInt8] = []
        private var start = 0
        /// Largest accepted frame (kind + payload).
        public let maxFrame: Int

        /// Creates an empty reader. Any thread.
        public init(maxFrame: Int) { self.maxFrame = maxFrame }

        /// The same buffered bytes with another frame limit (after the handshake).
        public func withMaxFrame(_ max: Int) -> Reader {
            var r = Reader(maxFrame: max)
            r.buffer = Array(buffer[start...])
            return r
        }

        /// Unconsumed byte count.
        public var available: Int { buffer.count - start }

        /// Adds received bytes.
        public mutating func append(_ bytes: ArraySlice<UInt8>) {
            if start > 0 && start == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                start = 0
            } else if start > 1 << 20 && start * 2 > buffer.count {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            buffer.append(contentsOf: bytes)
        }

        /// Takes a `\n`-terminated line (without the newline) of at most `max` bytes; nil if not
        /// complete yet; throws if longer.
        public mutating func line(max: Int) throws(ClusterError) -> [UInt8]? {
            guard let nl = buffer[start...].firstIndex(of: 0x0A) else {
                if available > max { throw ClusterError(.authentication, "greeting line too long") }
                return nil
            }
            guard nl - start <= max else { throw ClusterError(.authentication, "greeting line too long") }
            let out = Array(buffer[start..<nl])
            start = nl + 1
            return out
        }

        /// Takes exactly `count` bytes, or nil if fewer are buffered.
        public mutating func take(_ count: Int) -> [UInt8]? {
            guard available >= count else { return nil }
            let out = Array(buffer[start..<(start + count)])
            start += count
            return out
        }

        /// Takes the next complete frame; nil if incomplete; throws on an oversized or unknown frame.
        public mutating func frame() throws(ClusterError) -> PeerFrame? {
            guard available >= 5 else { return nil }
            let n = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8
                | Int(buffer[start + 3])
            guard n >= 1, n <= maxFrame else { throw ClusterError(.network, "peer frame of \(n) bytes") }
            guard available >= 4 + n else { return nil }
            guard let kind = Kind(rawValue: buffer[start + 4]) else {
                throw ClusterError(.network, "unknown peer frame kind \(buffer[start + 4])")
            }
            let payload = Array(buffer[(start + 5)..<(start + 4 + n)])
            start += 4 + n
            return PeerFrame(kind, payload)
        }
    }
}
