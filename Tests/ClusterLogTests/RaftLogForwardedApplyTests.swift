@testable import ClusterLog
import Foundation
import NetworkIO
import SpoolStore
import Testing

@Suite("Replicated log: forwarded proposals complete with the leader's apply result")
struct RaftLogForwardedApplyTests {
    @Test("a follower that applies nothing (as while installing a snapshot) still completes forwarded proposals with the leader's results, and its own apply later records the same ones")
    func heldFollowerCompletes() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let name = c.names.first { $0 != leader }!
        let follower = c.logs[name]!
        follower.onLoop { $0.applier.held = true }
        let results = Results()
        follower.propose(ClusterHarness.enqueue("H1")) { results.set(0, $0) }
        #expect(c.wait(15) { results.count == 1 })
        follower.propose(ClusterHarness.enqueue("H1")) { results.set(1, $0) }  // the same queue ID again
        #expect(c.wait(15) { results.count == 2 })
        let first = results.all[0], second = results.all[1]
        let index = try #require(try? first?.get(), "the first proposal failed: \(String(describing: first))")
        guard case .failure(let dup)? = second else {
            Issue.record("the repeated queue ID was not refused: \(String(describing: second))")
            return
        }
        #expect(dup.code == .duplicate)
        // Answered while nothing was applied here.
        #expect(follower.status().applied < index)
        #expect((try? c.stores[name]!.message(id: "H1")) == nil)
        #expect(c.wait(10) { c.logs[leader]!.status().applied > index })
        // Its own apply, once let go, reaches the same results.
        follower.onLoop { $0.applier.held = false }
        #expect(c.wait(15) { follower.status().applied > index })
        let local = follower.onLoop { l -> [String] in
            l.recentResults.keys.filter { $0 >= index }.sorted().prefix(2).map { i in
                switch l.recentResults[i]!.1 {
                case .success: return "\(i) ok"
                case .failure(let e): return "\(i) \(e.code)"
                }
            }
        }
        #expect(local == ["\(index) ok", "\(index + 1) duplicate"])
        #expect((try? c.stores[name]!.message(id: "H1")) != nil)
    }

    @Test("a leader's apply result is kept for a waiter only at the same (index, term) and when every member reaches it, and completes the waiter after the grace")
    func waiterMatchesIndexAndTerm() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let log = c.logs[c.names.first { $0 != leader }!]!
        let results = Results()
        let index: UInt64 = 1_000_000, term: UInt64 = 7
        let request = log.onLoop { l -> RaftLog.RequestID in
            l.waiters[index, default: []].append(RaftLog.Waiter(term: term, origin: .local({ results.set(0, $0) }),
                                                                deadline: EventLoop.now() + 60_000_000_000))
            return RaftLog.RequestID(incarnation: l.incarnation, seq: 999_999)
        }
        /// Whether the delivered result is kept for the waiter.
        func deliver(term t: UInt64, _ r: Result<Void, StoreError>, incarnation: UInt64? = nil) -> Bool {
            let req = RaftLog.RequestID(incarnation: incarnation ?? request.incarnation, seq: request.seq)
            return log.onLoop { l in
                l.received(PeerFrame(.forwardResult, RaftLog.appliedPayload(req, index: index, term: t, r)), from: leader)
                return l.leaderResults[index] != nil
            }
        }
        // The entry at that index under another leader's term is not the one appended for it.
        #expect(!deliver(term: term + 1, .success(())))
        #expect(!deliver(term: term - 1, .failure(StoreError(.duplicate, "other entry"))))
        // A storage failure on the leader is not this member's result.
        #expect(!deliver(term: term, .failure(StoreError(.storageFull, "leader disk full"))))
        #expect(!deliver(term: term, .failure(StoreError(.ioError, "leader disk"))))
        // For an earlier run of this node.
        #expect(!deliver(term: term, .success(()), incarnation: request.incarnation &+ 1))
        #expect(results.count == 0)
        // A state-machine rejection at exactly that (index, term) completes it (after the grace).
        #expect(deliver(term: term, .failure(StoreError(.duplicate, "seen", context: "Q"))))
        #expect(c.wait(10) { results.count == 1 })
        guard case .failure(let e)? = results.all[0] else {
            Issue.record("not completed: \(results.all)")
            return
        }
        #expect(e.code == .duplicate && e.reason == "seen" && e.context == "Q")
        #expect(log.onLoop { $0.waiters[index] == nil && $0.leaderResults.isEmpty })
    }

    @Test("a follower that applies within the grace answers from its own apply: the message is in its spool when the proposal completes")
    func ownApplyWithinGrace() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let name = c.names.first { $0 != leader }!
        let follower = c.logs[name]!
        let store = c.stores[name]!
        follower.onLoop { l in
            l.leaderResultGrace = 600_000_000_000
            l.applier.held = true
        }
        let results = Results()
        let seen = Results()
        follower.propose(ClusterHarness.enqueue("G1")) { r in
            results.set(0, r)
            seen.set(0, (try? store.message(id: "G1")) != nil ? .success(1) : .success(0))
        }
        // The leader's result has arrived; the proposal still waits for this node's apply.
        #expect(c.wait(15) { follower.onLoop { !$0.leaderResults.isEmpty } })
        #expect(results.count == 0)
        follower.onLoop { $0.applier.held = false }
        #expect(c.wait(15) { results.count == 1 })
        #expect((try? results.all[0]?.get()) != nil, "\(results.all)")
        #expect((try? seen.all[0]?.get()) == 1, "completed before the message was in this node's spool")
        #expect(follower.onLoop { $0.leaderResults.isEmpty })
    }

    @Test("a leader sends the apply result only for the entry it appended for the request, and only results every member reaches")
    func leaderSendsOnlyMatching() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let name = c.names.first { $0 != leader }!
        let log = c.logs[name]!
        let results = Results()
        // A proposal the follower forwarded whose append acknowledgement it never saw.
        let request = log.onLoop { l -> RaftLog.RequestID in
            let id = RaftLog.RequestID(incarnation: l.incarnation, seq: l.nextRequest)
            l.nextRequest += 1
            l.forwarded[id] = RaftLog.Proposal(data: [], origin: .local({ results.set(0, $0) }),
                                               deadline: EventLoop.now() + 60_000_000_000)
            return id
        }
        c.logs[leader]!.onLoop { l in
            let notice = RaftLog.AppliedNotice(peer: name, request: request, term: 4)
            for i: UInt64 in [997, 998, 999] { l.appliedNotices[i] = notice }
            // Applied under another term: the entry it appended was replaced.
            l.noticeApplied(SpoolApplier.Applied(index: 997, term: 5, result: .success(())))
            // A local storage failure.
            l.noticeApplied(SpoolApplier.Applied(index: 998, term: 4, result: .failure(StoreError(.storageFull, "full"))))
            // No notice for it.
            l.noticeApplied(SpoolApplier.Applied(index: 1_000, term: 4, result: .success(())))
            l.noticeApplied(SpoolApplier.Applied(index: 999, term: 4, result: .success(())))
        }
        // Frames on the control lane arrive in order: the first one to complete it must be 999's.
        #expect(c.wait(10) { results.count == 1 })
        #expect((try? results.all[0]?.get()) == 999)
        #expect(c.logs[leader]!.onLoop { $0.appliedNotices.isEmpty })
    }

    @Test("a build without apply results drops the new payload as malformed instead of failing the proposal")
    func olderDecoderDrops() {
        let request = RaftLog.RequestID(incarnation: 3, seq: 4)
        for r: Result<Void, StoreError> in [.success(()), .failure(StoreError(.duplicate, "dup", context: "Q1"))] {
            let p = RaftLog.appliedPayload(request, index: 12, term: 2, r)
            #expect(RaftLog.decodeResult(p) == nil, "an older build would read \(r) as a failure")
            let d = RaftLog.decodeApplied(p)
            #expect(d?.0 == request && d?.1 == 12 && d?.2 == 2)
            switch (d?.3, r) {
            case (.success?, .success): break
            case (.failure(let a)?, .failure(let b)): #expect(a.code == b.code && a.reason == b.reason && a.context == b.context)
            default: Issue.record("decoded \(String(describing: d?.3)) for \(r)")
            }
        }
        #expect(RaftLog.decodeApplied(RaftLog.appendedPayload(request, index: 1, term: 1)) == nil)
    }

    @Test("only a forwarded enqueue is answered from the leader: a held follower's other commands (a delete here) wait for its own apply")
    func onlyEnqueueFromLeader() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let name = c.names.first { $0 != leader }!
        let follower = c.logs[name]!
        follower.onLoop { $0.applier.held = true }
        let results = Results()
        follower.propose(ClusterHarness.enqueue("D1")) { results.set(0, $0) }
        #expect(c.wait(15) { results.count == 1 }, "the enqueue is answered from the leader")
        follower.propose(.delete(SpoolCommand.Delete(queueID: "D1", reason: "test", timestamp: 1_700_000_000_001))) { results.set(1, $0) }
        let index = try #require(try? results.all[0]?.get())
        // The delete is committed and applied on the leader, and the grace passes; still unanswered.
        #expect(c.wait(10) { c.logs[leader]!.status().applied > index && (try? c.stores[leader]!.message(id: "D1")) == nil })
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline, results.count < 2 { usleep(50_000) }
        #expect(results.count == 1, "the delete was answered before this member applied it: \(results.all)")
        follower.onLoop { $0.applier.held = false }
        #expect(c.wait(15) { results.count == 2 })
        #expect((try? results.all[1]?.get()) != nil, "\(results.all)")
        #expect((try? c.stores[name]!.message(id: "D1")) == nil, "deleted here by the time it was answered")
    }
}
