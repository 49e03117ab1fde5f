@testable import ClusterLog
import Foundation
import SpoolStore
import Synchronization
import Testing

/// Bodies written once (`RaftLog.Options.bodiesInLog`): each node's spool references the body in
/// its own copy of the committed raft entry; compaction keeps such entries while queued.
@Suite("Replicated log: message bodies kept in the raft log")
struct LogBodyClusterTests {
    static func body(_ id: String, size: Int = 20_000) -> [UInt8] {
        var out = Array("Subject: \(id)\r\n\r\n".utf8)
        var x = id.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 } | 1
        while out.count < size {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            out.append(UInt8(ascii: "a") + UInt8(x % 26))
        }
        return out
    }

    static func enqueue(_ id: String, size: Int = 20_000) -> SpoolCommand {
        .enqueue(SpoolCommand.Enqueue(queueID: id, sender: "a@example.com", recipients: [.init(address: "b@example.org")],
                                      receivedAt: 1_700_000_000_000, body: body(id, size: size)))
    }

    /// Proposes every command on `log` and waits for the completions (index or failure), in order.
    /// `timeout` is a hang guard beyond the harness's 30 s proposal timeout.
    static func propose(_ commands: [SpoolCommand], on log: RaftLog, timeout: Double = 60) -> [Result<UInt64, StoreError>] {
        let results = Results()
        for (i, c) in commands.enumerated() { log.propose(c) { results.set(i, $0) } }
        let end = Date().addingTimeInterval(timeout)
        while results.count < commands.count && Date() < end { usleep(5_000) }
        let all = results.all
        return (0..<commands.count).map { all[$0] ?? .failure(StoreError(.unavailable, "no completion")) }
    }

    static func bodiesMatch(_ store: SpoolStore, _ ids: [String]) -> Bool {
        ids.allSatisfy { (try? store.messageBody(id: $0)) == body($0) }
    }

    static func delete(_ id: String) -> SpoolCommand { .delete(.init(queueID: id, reason: "test", timestamp: 1)) }

    @Test("every node reads the bodies from its own raft entries, keeps no copy, and still reads them after a restart")
    func readAfterApplyAndRestart() throws {
        let c = try ClusterHarness(nodes: 3)
        let leader = try #require(c.awaitLeader())
        let ids = (0..<12).map { "B\($0)" }
        let results = Self.propose(ids.map { Self.enqueue($0) }, on: c.logs[leader]!)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        for n in c.names {
            let store = c.stores[n]!
            #expect(c.wait(10) { RaftLogClusterTests.has(store, ids) }, "node \(n)")
            #expect(Self.bodiesMatch(store, ids), "node \(n)")
            #expect(ids.allSatisfy { (try? store.logBodyRef(id: $0)) != nil }, "node \(n)")
            #expect(try store.tableCounts()["bodies"] == 0, "node \(n) copied bodies")
        }
        let follower = c.names.first { $0 != leader }!
        c.stopNode(follower)
        try c.startNode(follower)
        #expect(Self.bodiesMatch(c.stores[follower]!, ids))
        // The restarted leader too (it reads after the others elected a new one).
        c.stopNode(leader)
        try c.startNode(leader)
        #expect(Self.bodiesMatch(c.stores[leader]!, ids))
    }

    @Test("compaction keeps the entries of queued messages' bodies and drops the others; they go once their message leaves, also when the sweep checks them two at a time",
          arguments: [4_096, 2])
    func compactionKeepsPinned(sweepSlice: Int) throws {
        let c = try ClusterHarness(nodes: 3) { o in
            o.compactThreshold = 30
            o.retainedEntries = 5
            o.sweepSlice = sweepSlice
        }
        let leader = try #require(c.awaitLeader())
        let log = c.logs[leader]!
        let kept = (0..<6).map { "K\($0)" }
        let gone = (0..<6).map { "D\($0)" }
        let keptIdx = Self.propose(kept.map { Self.enqueue($0) }, on: log).compactMap { try? $0.get() }
        let goneIdx = Self.propose(gone.map { Self.enqueue($0) }, on: log).compactMap { try? $0.get() }
        #expect(keptIdx.count == kept.count && goneIdx.count == gone.count)
        #expect(Self.propose(gone.map(Self.delete), on: log).allSatisfy { (try? $0.get()) != nil })
        // Filler entries (deletes of unknown messages: applied, rejected) until every node compacted past them.
        let top = (keptIdx + goneIdx).max()!
        #expect(c.wait(20) {
            _ = Self.propose((0..<10).map { Self.delete("none-\($0)") }, on: log)
            return c.running.allSatisfy { $0.status().firstIndex > top + 1 }
        })
        for n in c.names {
            let l = c.logs[n]!
            #expect(l.onLoop { $0.storage.retainedCount } == kept.count, "node \(n)")
            #expect(keptIdx.allSatisfy { i in l.onLoop { (try? $0.storage.holdsEntry(i)) == true } }, "node \(n)")
            #expect(goneIdx.allSatisfy { i in l.onLoop { (try? $0.storage.holdsEntry(i)) == false } }, "node \(n)")
            #expect(Self.bodiesMatch(c.stores[n]!, kept), "node \(n)")
        }
        // A restart finds the retained entries and the bodies in them.
        let follower = c.names.first { $0 != leader }!
        c.stopNode(follower)
        try c.startNode(follower)
        #expect(c.logs[follower]!.onLoop { $0.storage.retainedCount } == kept.count)
        #expect(Self.bodiesMatch(c.stores[follower]!, kept))
        // Once the messages leave the queue, the sweep drops their entries on every node.
        #expect(Self.propose(kept.map(Self.delete), on: c.logs[leader]!).allSatisfy { (try? $0.get()) != nil })
        for n in c.names {
            let l = c.logs[n]!
            #expect(c.wait(10) { l.onLoop { $0.storage.retainedCount } == 0 }, "node \(n)")
            #expect(keptIdx.allSatisfy { i in l.onLoop { (try? $0.storage.holdsEntry(i)) == false } }, "node \(n)")
        }
    }

    @Test("a node added after compaction receives the bodies of queued messages in its spool snapshot")
    func snapshotCarriesBodies() throws {
        let c = try ClusterHarness(nodes: 3) { o in
            o.compactThreshold = 30
            o.retainedEntries = 5
        }
        let leader = try #require(c.awaitLeader())
        let ids = (0..<20).map { "S\($0)" }
        #expect(Self.propose(ids.map { Self.enqueue($0) }, on: c.logs[leader]!).allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(20) {
            _ = Self.propose((0..<10).map { Self.delete("none-\($0)") }, on: c.logs[leader]!)
            return c.running.allSatisfy { $0.status().firstIndex > 30 }
        })
        let (n4, store) = try c.joinFromSnapshot("n4", leader: leader)
        defer { store.close() }
        defer { n4.stop(transferLeadership: false) }
        #expect(Self.bodiesMatch(store, ids), "bodies in the snapshot")
        #expect(ids.allSatisfy { (try? store.logBodyRef(id: $0)) == nil }, "snapshot bodies are copies")
        let more = (0..<5).map { "T\($0)" }
        #expect(Self.propose(more.map { Self.enqueue($0) }, on: c.logs[leader]!).allSatisfy { (try? $0.get()) != nil })
        #expect(c.wait(10) { Self.bodiesMatch(store, more) })
        #expect(more.allSatisfy { (try? store.logBodyRef(id: $0)) != nil }, "later bodies stay in n4's log")
    }

    @Test("with bodiesInLog off the spool copies bodies, and a node switched on later reads both layouts")
    func switchedOnLater() throws {
        let on = Mutex<Bool>(false)
        let c = try ClusterHarness(nodes: 3) { o in o.bodiesInLog = on.withLock { $0 } }
        let leader = try #require(c.awaitLeader())
        let old = (0..<5).map { "O\($0)" }
        #expect(Self.propose(old.map { Self.enqueue($0) }, on: c.logs[leader]!).allSatisfy { (try? $0.get()) != nil })
        for n in c.names {
            #expect(c.wait(10) { RaftLogClusterTests.has(c.stores[n]!, old) })
            #expect(old.allSatisfy { (try? c.stores[n]!.logBodyRef(id: $0)) == nil })
        }
        on.withLock { $0 = true }
        for n in c.names {
            c.stopNode(n)
            try c.startNode(n)
        }
        let leader2 = try #require(c.awaitLeader())
        let new = (0..<5).map { "N\($0)" }
        #expect(Self.propose(new.map { Self.enqueue($0) }, on: c.logs[leader2]!).allSatisfy { (try? $0.get()) != nil })
        for n in c.names {
            let store = c.stores[n]!
            #expect(c.wait(10) { RaftLogClusterTests.has(store, new) })
            #expect(Self.bodiesMatch(store, old + new), "node \(n)")
            #expect(new.allSatisfy { (try? store.logBodyRef(id: $0)) != nil }, "node \(n)")
        }
        // Switched off again (the way back to a release without it): bodies are copied back at start.
        on.withLock { $0 = false }
        for n in c.names {
            c.stopNode(n)
            try c.startNode(n)
            let store = c.stores[n]!
            #expect(new.allSatisfy { (try? store.logBodyRef(id: $0)) == nil }, "node \(n)")
            #expect(try store.tableCounts()["logbodies"] == 0, "node \(n)")
            #expect(Self.bodiesMatch(store, old + new), "node \(n)")
        }
    }
}
