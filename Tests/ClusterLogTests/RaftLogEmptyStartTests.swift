@testable import ClusterLog
import Foundation
import RaftCore
import Testing

/// The persisted catching-up mark of a node whose raft storage starts empty in a cluster.
@Suite("Raft storage started empty: the catching-up mark")
struct RaftLogEmptyStartTests {
    static func options(_ dir: String, peers: [String: String]) -> RaftLog.Options {
        RaftLog.Options(nodeID: "n3", peers: peers, listen: "127.62.5.3:0", secret: Array("secret".utf8), directory: dir)
    }

    @Test("an empty storage in a cluster is marked, the mark survives a restart before catch-up, and is gone once cleared")
    func markPersists() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-empty-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let peers = ["n1": "127.62.5.1:7700", "n2": "127.62.5.2:7700"]
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1, 2, 3])
            #expect(s.openedEmpty)
            #expect(try RaftLog.catchingUp(s, Self.options(dir, peers: peers)))
            // Something is written (a term seen), then the process dies before catching up.
            try s.persist(entries: [], hardState: Raft.HardState(term: 4, vote: 0, commit: 0))
            s.close()
        }
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1, 2, 3])
            #expect(!s.openedEmpty)
            #expect(try RaftLog.catchingUp(s, Self.options(dir, peers: peers)), "the mark must survive the restart")
            try s.setCatchingUp(false)
            s.close()
        }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1, 2, 3])
        #expect(try !RaftLog.catchingUp(s, Self.options(dir, peers: peers)))
    }

    @Test("a single node, and a storage that already holds state, are not marked")
    func notMarked() throws {
        let single = FileManager.default.temporaryDirectory.appendingPathComponent("sx-empty-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: single) }
        let s = try RaftLogStorage(directory: single, initialVoters: [3])
        #expect(try !RaftLog.catchingUp(s, Self.options(single, peers: [:])))
        s.close()

        let used = FileManager.default.temporaryDirectory.appendingPathComponent("sx-empty-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: used) }
        do {
            let u = try RaftLogStorage(directory: used, initialVoters: [1, 2, 3])
            try u.setCatchingUp(false)
            try u.persist(entries: [Raft.Entry(term: 1, index: 1, data: [1])], hardState: Raft.HardState(term: 1, vote: 1, commit: 0))
            u.close()
        }
        let u = try RaftLogStorage(directory: used, initialVoters: [1, 2, 3])
        #expect(!u.openedEmpty)
        #expect(try !RaftLog.catchingUp(u, Self.options(used, peers: ["n1": "127.62.5.1:7700"])))
    }
}
