import SendarixSupport

/// Maps the string node ids of the configuration (`node.id`, `cluster.peers[].id`) to the non-zero
/// `UInt64` ids Raft uses, and back.
///
/// The raft id of a node is the 64-bit FNV-1a hash of its UTF-8 id (0 is mapped to 1). A hash
/// (rather than the index in a sorted list) keeps every node's raft id stable when members are
/// added or removed, and every node computes the same id without coordination. Two ids that
/// collide are refused at setup (`ClusterError.invalidConfig`). Pure value; any thread.
public struct NodeIDMap: Sendable, Equatable {
    /// Raft id → string id.
    public private(set) var names: [UInt64: String] = [:]
    /// String id → raft id.
    public private(set) var ids: [String: UInt64] = [:]

    /// Builds the map for `nodes`; throws `.invalidConfig` on a duplicate or colliding id. Any thread.
    public init(_ nodes: [String]) throws(ClusterError) {
        for n in nodes { try insert(n) }
    }

    /// Adds one node id; throws on a duplicate or a hash collision. Any thread.
    public mutating func insert(_ name: String) throws(ClusterError) {
        guard !name.isEmpty else { throw ClusterError(.invalidConfig, "empty node id") }
        let id = Self.raftID(name)
        if let other = names[id] {
            throw ClusterError(.invalidConfig, other == name ? "node id listed twice" : "node ids \(other) and \(name) collide",
                               context: name)
        }
        names[id] = name
        ids[name] = id
    }

    /// The raft id of a string node id (FNV-1a 64, never 0). Pure; any thread.
    public static func raftID(_ name: String) -> UInt64 {
        let h = FNV1a64.hash(name.utf8)
        return h == 0 ? 1 : h
    }

    /// The string id for a raft id, or `#<number>` when unknown. Any thread.
    public func name(_ id: UInt64) -> String { names[id] ?? "#\(id)" }
}
