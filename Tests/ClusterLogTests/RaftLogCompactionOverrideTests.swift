import Testing
@testable import ClusterLog

@Suite("Compaction settings overridden through the environment (benchmarks)")
struct RaftLogCompactionOverrideTests {
    func options() -> RaftLog.Options {
        RaftLog.Options(nodeID: "n1", peers: [:], listen: "127.0.0.1:0", secret: Array("s".utf8), directory: "/nonexistent")
    }

    @Test("the three variables set the compaction threshold, the retained entries and the hold of a silent member")
    func overridesApply() {
        var o = options()
        o.applyCompactionOverrides(["SENDARIX_RAFT_COMPACT_THRESHOLD": "20000", "SENDARIX_RAFT_RETAINED_ENTRIES": "8000",
                                    "SENDARIX_RAFT_COMPACTION_HOLD_SECONDS": "5"])
        #expect(o.compactThreshold == 20_000)
        #expect(o.retainedEntries == 8_000)
        #expect(o.compactionHoldSeconds == 5)
    }

    @Test("without the variables, or with values that do not parse or are out of range, the defaults stay")
    func defaultsStay() {
        var o = options()
        o.applyCompactionOverrides([:])
        #expect(o.compactThreshold == 50_000 && o.retainedEntries == 10_000 && o.compactionHoldSeconds == 600)
        o.applyCompactionOverrides(["SENDARIX_RAFT_COMPACT_THRESHOLD": "0", "SENDARIX_RAFT_RETAINED_ENTRIES": "-3",
                                    "SENDARIX_RAFT_COMPACTION_HOLD_SECONDS": "soon"])
        #expect(o.compactThreshold == 50_000 && o.retainedEntries == 10_000 && o.compactionHoldSeconds == 600)
        o.applyCompactionOverrides(["SENDARIX_RAFT_COMPACTION_HOLD_SECONDS": "inf"])
        #expect(o.compactionHoldSeconds == 600)
    }
}
