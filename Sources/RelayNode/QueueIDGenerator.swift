import Glibc
import SendarixSupport
import Synchronization

/// Makes queue IDs that are unique across nodes and restarts: 9 characters of milliseconds since
/// the epoch, 4 of a hash of the node id, 3 random per process start and 4 of a per-process
/// counter, in Crockford base32 (20 characters, sortable by time within a node).
///
/// Thread-safe; never blocks.
public final class QueueIDGenerator: Sendable {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    private let nodeTag: [UInt8]
    private let processTag: [UInt8]
    private let counter = Atomic<UInt64>(0)

    /// Creates a generator for the node `nodeID`.
    public init(nodeID: String) {
        let h = FNV1a64.hash(nodeID.utf8)
        nodeTag = QueueIDGenerator.encode(h, digits: 4)
        var rng = SystemRandomNumberGenerator()
        let r = rng.next()
        processTag = QueueIDGenerator.encode(r, digits: 3)
    }

    /// Returns a new ID.
    public func next() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ms = UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec / 1_000_000)
        let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
        var out = QueueIDGenerator.encode(ms, digits: 9)
        out += nodeTag
        out += processTag
        out += QueueIDGenerator.encode(n, digits: 4)
        return String(decoding: out, as: UTF8.self)
    }

    static func encode(_ value: UInt64, digits: Int) -> [UInt8] {
        var v = value
        var out = [UInt8](repeating: 0, count: digits)
        for i in stride(from: digits - 1, through: 0, by: -1) {
            out[i] = alphabet[Int(v & 31)]
            v >>= 5
        }
        return out
    }
}
