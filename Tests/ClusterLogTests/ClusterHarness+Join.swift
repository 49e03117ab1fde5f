@testable import ClusterLog
import Foundation
import SpoolStore
import Testing

extension ClusterHarness {
    /// Adds node `name` to the running cluster after the log was compacted past what it could
    /// replay: it starts as a joiner, is added by `leader`, receives the streamed spool snapshot
    /// (nothing applied before the restart), and is restarted with the snapshot installed.
    /// Returns the running node and its open store; the caller stops and closes them.
    func joinFromSnapshot(_ name: String, leader: String) throws -> (RaftLog, SpoolStore) {
        let raftDir = "\(root)/\(name)/raft", spoolDir = "\(root)/\(name)/spool"
        var o = joinerOptions(name)
        var store = try SpoolStore(directory: spoolDir, options: SpoolStore.Options(mapSize: 1 << 30))
        var node = try RaftLog(options: o, store: store)
        let address = try node.start()
        o.listen = address
        let added = RaftLogMembershipTests.change { logs[leader]!.addNode(name, address: address, completion: $0) }
        #expect((try? added?.get()) != nil)
        #expect(wait(10) { logs[leader]!.status().peers.first { $0.id == name }?.needsSnapshot == true })
        #expect(wait(15) { node.status().snapshotPending })
        #expect(try store.queueCount() == 0)
        node.stop(transferLeadership: false)
        store.close()
        #expect(try RaftLog.installPendingSnapshot(raftDirectory: raftDir, spoolDirectory: spoolDir))
        #expect(try RaftLog.installPendingSnapshot(raftDirectory: raftDir, spoolDirectory: spoolDir) == false)
        store = try SpoolStore(directory: spoolDir, options: SpoolStore.Options(mapSize: 1 << 30))
        node = try RaftLog(options: o, store: store)
        try node.start()
        return (node, store)
    }
}
