@testable import ClusterLog
import Foundation
import SpoolStore
import Synchronization
import Testing

/// Membership change results collected across threads.
final class ChangeResult: Sendable {
    let v = Mutex<Result<Void, ClusterError>?>(nil)
}

@Suite("Replicated log: membership")
struct RaftLogMembershipTests {
    static func change(_ body: (@escaping @Sendable (Result<Void, ClusterError>) -> Void) -> Void) -> Result<Void, ClusterError>? {
        let r = ChangeResult()
        body { res in r.v.withLock { $0 = res } }
        let end = Date().addingTimeInterval(10)
        while r.v.withLock({ $0 }) == nil && Date() < end { usleep(5_000) }
        return r.v.withLock { $0 }
    }

    @Test("a node added at runtime catches up, is promoted to voter, and can be removed again")
    func addAndRemove() throws {
        let c = try ClusterHarness(nodes: 3)
        let leaderName = try #require(c.awaitLeader())
        let leader = c.logs[leaderName]!
        let ids = (0..<20).map { "M\($0)" }
        #expect(RaftLogClusterTests.proposeAll(ids, on: c.running).values.allSatisfy { (try? $0.get()) != nil })

        // The newcomer knows the current members and starts as a non-voter.
        let o = c.joinerOptions("n4")
        let store = try SpoolStore(directory: "\(c.root)/n4/spool", options: SpoolStore.Options(mapSize: 1 << 30))
        defer { store.close() }
        let n4 = try RaftLog(options: o, store: store)
        defer { n4.stop(transferLeadership: false) }
        let address = try n4.start()

        let follower = c.running.first { !$0.isLeader }!
        if case .success? = Self.change({ follower.addNode("n4", address: address, completion: $0) }) {
            Issue.record("a follower must refuse membership changes")
        }
        let added = Self.change { leader.addNode("n4", address: address, completion: $0) }
        #expect((try? added?.get()) != nil, "\(String(describing: added))")
        #expect(c.wait(10) { leader.status().voters.contains("n4") }, "\(leader.status().learners)")
        #expect(c.wait(10) { ids.allSatisfy { (try? store.message(id: $0)) != nil } })
        #expect(c.wait(5) { n4.status().leader == leaderName })

        // New proposals reach the newcomer, also when proposed through it.
        #expect(RaftLogClusterTests.proposeAll(["M-new"], on: [n4]).values.allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(5) { c.running.allSatisfy { $0.status().voters.count == 4 } })

        let removed = Self.change { leader.addNode("n4", address: address, completion: $0) }
        #expect((try? removed?.get()) == nil, "adding an existing member must fail")
        let gone = Self.change { leader.removeNode("n4", completion: $0) }
        #expect((try? gone?.get()) != nil)
        #expect(c.wait(5) { c.running.allSatisfy { $0.status().voters.sorted() == ["n1", "n2", "n3"] } })
    }
}
