@testable import ClusterLog
import SpoolStore
import Testing

/// The spool copy a leader streams as a snapshot (`RaftLog.snapshotCopyOptions`); that the bodies
/// arrive is `LogBodyClusterTests.snapshotCarriesBodies`.
@Suite("Replicated log: the snapshot's spool copy")
struct RaftLogSnapshotCopyTests {
    @Test("the snapshot copy is written without an fsync per commit, with the spool's map size and room to grow")
    func copyOptions() {
        var spool = SpoolStore.Options(mapSize: 64 << 20, durable: true)
        spool.maxMapSize = 1 << 30
        let copy = RaftLog.snapshotCopyOptions(spool)
        #expect(!copy.durable)
        #expect(copy.mapSize == 64 << 20)
        #expect(copy.maxMapSize == 1 << 30)
        // A spool without a growth limit: the copy may still grow to at least its map size.
        let fixed = RaftLog.snapshotCopyOptions(SpoolStore.Options(mapSize: 64 << 20))
        #expect(fixed.maxMapSize == 64 << 20 && !fixed.durable)
    }
}
