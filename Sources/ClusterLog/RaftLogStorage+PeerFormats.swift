import CLMDB
import RaftCore

/// Each member's last advertised log entry format (`RaftLog+Formats`), kept in the raft storage's
/// meta table so a restarted node does not count a member it has not heard from since it started
/// as format 1 (`RaftLog+RememberedFormats.swift`).
extension RaftLogStorage {
    static let peerFormatsKey = Array("peerFormats".utf8)

    /// The formats last saved by `savePeerFormats` (empty if none). Blocks; driving thread.
    public func loadPeerFormats() throws(ClusterError) -> [String: UInt8] {
        guard let v = try read({ txn throws(ClusterError) in try txn.get(dbMeta, Self.peerFormatsKey) }) else { return [:] }
        return try Self.decodePeerFormats(v)
    }

    /// Replaces the saved formats with `formats` (fsynced). Blocks; driving thread.
    public func savePeerFormats(_ formats: [String: UInt8]) throws(ClusterError) {
        let bytes = Self.encodePeerFormats(formats)
        try write { txn throws(ClusterError) in try txn.put(dbMeta, Self.peerFormatsKey, bytes) }
    }

    static func encodePeerFormats(_ formats: [String: UInt8]) -> [UInt8] {
        var w = WireWriter(capacity: 16 * formats.count + 2)
        w.varint(UInt64(formats.count))
        for (name, format) in formats.sorted(by: { $0.key < $1.key }) {
            w.lengthPrefixed(Array(name.utf8))
            w.varint(UInt64(format))
        }
        return w.bytes
    }

    static func decodePeerFormats(_ v: [UInt8]) throws(ClusterError) -> [String: UInt8] {
        var r = WireReader(v[...])
        var out: [String: UInt8] = [:]
        do {
            let n = try r.varint()
            for _ in 0..<n {
                let name = String(decoding: try r.lengthPrefixed(), as: UTF8.self)
                out[name] = UInt8(clamping: max(1, try r.varint()))
            }
        } catch {
            throw ClusterError(.corrupt, "peer formats: \(error)")
        }
        return out
    }
}
