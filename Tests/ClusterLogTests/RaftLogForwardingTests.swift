@testable import ClusterLog
import Foundation
import NetworkIO
import SpoolStore
import Testing

@Suite("Replicated log: forwarded proposals and peer input")
struct RaftLogForwardingTests {
    @Test("a forwarded-proposal result for a previous incarnation of the node is ignored; the same result for this incarnation completes the proposal")
    func staleIncarnationIgnored() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let follower = c.names.first { $0 != leader }!
        let log = c.logs[follower]!
        let results = Results()
        // A proposal this node forwarded and is waiting on (the next sequence number of this run).
        let request = log.onLoop { l -> RaftLog.RequestID in
            let id = RaftLog.RequestID(incarnation: l.incarnation, seq: l.nextRequest)
            l.nextRequest += 1
            l.forwarded[id] = RaftLog.Proposal(data: [], origin: .local({ results.set(0, $0) }),
                                               deadline: EventLoop.now() + 60_000_000_000)
            return id
        }
        // Replies to the same sequence number sent to an earlier run of this node.
        let previous = RaftLog.RequestID(incarnation: request.incarnation &+ 1, seq: request.seq)
        let stale = log.onLoop { l -> (Bool, Bool) in
            l.received(PeerFrame(.forwardResult, RaftLog.failurePayload(previous, StoreError(.invalidCommand, "stale"))),
                       from: leader)
            l.received(PeerFrame(.forwardResult, RaftLog.appendedPayload(previous, index: 1_000_000, term: 1)), from: leader)
            return (l.forwarded[request] != nil, l.waiters[1_000_000] == nil)
        }
        #expect(stale.0, "the stale reply completed the proposal")
        #expect(stale.1, "the stale reply registered a waiter")
        #expect(results.count == 0)
        // The reply for this incarnation completes it.
        let done = log.onLoop { l -> Bool in
            l.received(PeerFrame(.forwardResult, RaftLog.failurePayload(request, StoreError(.invalidCommand, "fresh"))),
                       from: leader)
            return l.forwarded[request] == nil
        }
        #expect(done)
        guard case .failure(let e)? = results.all[0] else {
            Issue.record("no result: \(results.all)")
            return
        }
        #expect(e.code == .invalidCommand && e.reason == "fresh")
    }

    @Test("two runs of a follower number their forwarded requests in different incarnations")
    func incarnationPerRun() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let follower = c.names.first { $0 != leader }!
        let first = c.logs[follower]!.onLoop { $0.incarnation }
        #expect(RaftLogClusterTests.proposeAll(["I1"], on: [c.logs[follower]!]).values.allSatisfy { (try? $0.get()) != nil })
        c.stopNode(follower)
        try c.startNode(follower)
        let second = c.logs[follower]!.onLoop { $0.incarnation }
        #expect(first != second && first != 0 && second != 0)
        // Forwarding works after the restart (the leader echoes the new incarnation).
        #expect(c.wait(10) { c.logs[follower]!.status().leader != nil })
        #expect(RaftLogClusterTests.proposeAll(["I2"], on: [c.logs[follower]!]).values.allSatisfy { (try? $0.get()) != nil })
    }

    @Test("claims with extreme issue times are refused without trapping, directly and forwarded to the leader")
    func extremeClaims() throws {
        func claim(_ at: Int64, expires: Int64? = nil) -> [UInt8] {
            SpoolCommand.claim(.init(queueID: "Q", owner: "n2", attempt: UInt32.max, issuedAt: at, expiresAt: expires ?? at)).encoded()
        }
        // Leases longer than a day (or overflowing) are refused whatever the clock.
        let day = RaftLog.maxLeaseMillis
        #expect(RaftLog.validateClaim(claim(1_700_000_000_000, expires: 1_700_000_000_000 + day), nowMillis: 1_700_000_000_000) == nil)
        #expect(RaftLog.validateClaim(claim(1_700_000_000_000, expires: 1_700_000_000_000 + day + 1),
                                      nowMillis: 1_700_000_000_000)?.code == .leaseConflict)
        #expect(RaftLog.validateClaim(claim(1_700_000_000_000, expires: Int64.max), nowMillis: 1_700_000_000_000)?.code == .leaseConflict)
        #expect(RaftLog.validateClaim(claim(Int64.max, expires: Int64.min), nowMillis: Int64.max)?.code == .leaseConflict)
        for now: Int64 in [Int64.min, -1, 0, 1_700_000_000_000, Int64.max] {
            for at: Int64 in [Int64.min, Int64.min + 1, -1, 0, Int64.max - 1, Int64.max] {
                let err = RaftLog.validateClaim(claim(at), nowMillis: now)
                let (d, o) = at.subtractingReportingOverflow(now)
                if o || d.magnitude > 2_000 {
                    #expect(err?.code == .leaseConflict, "issuedAt \(at) now \(now)")
                } else {
                    #expect(err == nil, "issuedAt \(at) now \(now)")
                }
            }
        }
        #expect(RaftLog.validateClaim(claim(Int64.min, expires: Int64.min), nowMillis: 1_700_000_000_000)?.code == .leaseConflict)

        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let follower = c.logs[c.names.first { $0 != leader }!]!
        for at in [Int64.min, Int64.max] {
            let res = Results()
            follower.propose(.claim(.init(queueID: "none", owner: follower.options.nodeID, attempt: 1, issuedAt: at,
                                          expiresAt: Int64.max))) { res.set(0, $0) }
            #expect(c.wait(10) { res.count == 1 })
            if case .failure(let e)? = res.all[0] { #expect(e.code == .leaseConflict) } else { Issue.record("claim accepted") }
        }
        #expect(c.logs[leader]!.isLeader)
    }

    @Test("malformed peer frames of every kind are dropped and the node keeps working")
    func malformedFrames() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let follower = c.names.first { $0 != leader }!
        var rng = SystemRandomNumberGenerator()
        var payloads: [[UInt8]] = [[], [0], [UInt8](repeating: 0xFF, count: 8), [UInt8](repeating: 0xFF, count: 16),
                                   [UInt8](repeating: 0xFF, count: 17), [UInt8](repeating: 0xFF, count: 33),
                                   [UInt8](repeating: 0xFF, count: 41)]
        for n in [3, 9, 24, 40, 100] { payloads.append((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        let frames = payloads
        let kinds: [PeerFrame.Kind] = [.raft, .forward, .forwardResult, .leaderView, .snapshotChunk, .snapshotEnd, .hello]
        for name in [leader, follower] {
            let target = c.logs[name]!
            let from = c.names.first { $0 != name }!
            target.onLoop { l in
                for k in kinds { for p in frames { l.received(PeerFrame(k, p), from: from) } }
            }
        }
        #expect(c.logs[leader]!.isLeader)
        #expect(RaftLogClusterTests.proposeAll(["M1", "M2"], on: c.running).values.allSatisfy { (try? $0.get()) != nil })
    }
}
