@testable import ClusterLog
import Foundation
import SpoolStore
import Testing

@Suite("Replicated log: leases and ownership")
struct RaftLogLeaseTests {
    @Test("rendezvous ownership is stable, spreads keys, and moves only the dead node's keys")
    func rendezvous() {
        let members = ["n1", "n2", "n3"]
        let keys = (0..<300).map { "domain\($0).example" }
        var counts: [String: Int] = [:]
        for k in keys { counts[RaftLog.rendezvous(k, over: members)!, default: 0] += 1 }
        #expect(counts.count == 3 && counts.values.allSatisfy { $0 > 60 }, "\(counts)")
        for k in keys {
            let before = RaftLog.rendezvous(k, over: members)!
            let after = RaftLog.rendezvous(k, over: ["n1", "n3"])!
            if before != "n2" { #expect(after == before) }
        }
        #expect(RaftLog.rendezvous("x", over: []) == nil)
    }

    @Test("the leader refuses a claim stamped far from its clock and accepts a current one")
    func claimSkew() throws {
        let now: Int64 = 1_700_000_000_000
        func claim(_ at: Int64) -> [UInt8] {
            SpoolCommand.claim(.init(queueID: "Q", owner: "n2", attempt: 1, issuedAt: at, expiresAt: at + 60_000)).encoded()
        }
        #expect(RaftLog.validateClaim(claim(now + 500), nowMillis: now) == nil)
        #expect(RaftLog.validateClaim(claim(now + 10_000), nowMillis: now)?.code == .leaseConflict)
        #expect(RaftLog.validateClaim(claim(now - 10_000), nowMillis: now)?.code == .leaseConflict)
        #expect(RaftLog.validateClaim(ClusterHarness.enqueue("E").encoded(), nowMillis: now) == nil)
    }

    @Test("every node learns the live set from the leader; a stopped node leaves it")
    func liveSet() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        #expect(c.wait(5) { c.running.allSatisfy { $0.status().live == ["n1", "n2", "n3"] } },
                "\(c.running.map { $0.status().live })")
        let owner = c.running[0].preferredOwner(for: "example.org")
        #expect(owner != nil && c.running.allSatisfy { $0.preferredOwner(for: "example.org") == owner })
        let victim = c.names.first { $0 != leader }!
        c.stopNode(victim)
        // A member leaves the live set 3 s (2 × the election timeout) after its last contact.
        #expect(c.wait(15) { c.running.allSatisfy { !$0.status().live.contains(victim) && $0.status().live.count == 2 } })
        // A skewed claim proposed through a follower is refused by the leader.
        let follower = c.running.first { !$0.isLeader }!
        let skewed = SpoolCommand.claim(.init(queueID: "none", owner: follower.options.nodeID, attempt: 1,
                                              issuedAt: 1_000, expiresAt: 2_000))
        let res = Results()
        follower.propose(skewed) { res.set(0, $0) }
        #expect(c.wait(5) { res.count == 1 })
        if case .failure(let e)? = res.all[0] { #expect(e.code == .leaseConflict) } else { Issue.record("claim accepted") }
    }
}

@Suite("Replicated log: status")
struct RaftLogStatusTests {
    @Test("status serializes to JSON with leader, indexes and per-peer replication")
    func statusJSON() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        #expect(RaftLogClusterTests.proposeAll(["J1"], on: c.running).values.allSatisfy { (try? $0.get()) != nil })
        let log = c.logs[leader]!
        #expect(c.wait(5) { log.status().peers.allSatisfy { $0.match == log.status().lastIndex && $0.lastContactMillis != nil } })
        let data = try JSONSerialization.data(withJSONObject: log.status().jsonObject())
        let obj = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(obj["role"] as? String == "leader" && obj["leader"] as? String == leader)
        #expect((obj["peers"] as? [[String: Any]])?.count == 2)
        #expect((obj["peers"] as? [[String: Any]])?.allSatisfy { $0["lag"] as? Int == 0 } == true)
    }
}
