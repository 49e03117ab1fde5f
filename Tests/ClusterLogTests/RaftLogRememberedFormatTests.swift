@testable import ClusterLog
import Foundation
import RaftCore
import SpoolStore
import Testing

@Suite("Replicated log: members' formats survive a restart")
struct RaftLogRememberedFormatTests {
    /// The format the current leader writes, once there is one with a quorum (nil if none).
    static func leaderFormat(_ c: ClusterHarness) -> (String, UInt8)? {
        guard let leader = c.awaitLeader(), let log = c.logs[leader] else { return nil }
        return (leader, log.entryFormat)
    }

    /// Restarts every running member (n1 and n2) while n3 stays down.
    static func restartSurvivors(_ c: ClusterHarness) throws {
        for n in ["n1", "n2"] { c.stopNode(n) }
        for n in ["n1", "n2"] { try c.startNode(n) }
    }

    /// Proposes `command` on `log` and returns its index once committed (fails the test on an error).
    static func propose(_ command: SpoolCommand, on log: RaftLog) throws -> UInt64 {
        let done = DispatchSemaphore(value: 0)
        let result = Results()
        log.propose(command) { r in
            result.set(0, r)
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 60) == .success, "the proposal did not complete")
        return try #require(try result.all[0]?.get())
    }

    /// Every node saved every other member's format (the newest): from hellos, or from the
    /// leader's view (a follower is dialled by the others only at elections).
    static func expectEverySaved(_ c: ClusterHarness) {
        for n in c.names {
            let others = Dictionary(uniqueKeysWithValues: c.names.filter { $0 != n }.map { ($0, SpoolCommand.formatVersion) })
            #expect(c.wait(10) { c.logs[n]!.onLoop { $0.rememberedFormats } == others },
                    "\(n) saved \(c.logs[n]!.onLoop { $0.rememberedFormats })")
        }
    }

    @Test("a member is down and the others restart: the new leader writes the newest format at once, from the format the down member last advertised")
    func newestFormatAfterRestart() throws {
        let c = try ClusterHarness(nodes: 3)
        let first = try #require(c.awaitLeader())
        #expect(c.wait(10) { c.logs[first]!.entryFormat == SpoolCommand.formatVersion }, "every member advertised the newest format")
        Self.expectEverySaved(c)
        c.stopNode("n3")
        try Self.restartSurvivors(c)
        let (leader, _) = try #require(Self.leaderFormat(c))
        // Refreshed within a tick of taking the lead; without the saved formats it stays at 1 until n3 is back.
        #expect(c.wait(5) { c.logs[leader]!.entryFormat == SpoolCommand.formatVersion },
                "leader \(leader) writes \(c.logs[leader]!.entryFormat) with n3 down")
        let follower = leader == "n1" ? "n2" : "n1"
        #expect(c.wait(5) { c.logs[follower]!.entryFormat == SpoolCommand.formatVersion }, "the follower follows the leader's view")
    }

    @Test("a member restarted with an older build still lowers the format when it dials in, and the lower format is what a restarted leader remembers")
    func olderMemberLowersFormat() throws {
        let c = try ClusterHarness(nodes: 3)
        let first = try #require(c.awaitLeader())
        #expect(c.wait(10) { c.logs[first]!.entryFormat == SpoolCommand.formatVersion })
        Self.expectEverySaved(c)
        c.stopNode("n3")
        try Self.restartSurvivors(c)
        let (leader, _) = try #require(Self.leaderFormat(c))
        #expect(c.wait(5) { c.logs[leader]!.entryFormat == SpoolCommand.formatVersion }, "n3's saved format counts while it is down")
        // n3 comes back advertising format 4 (an older build): its hello beats the saved newest format.
        let older = SpoolCommand.formatVersion - 1
        try c.startNode("n3") { $0.transport.formatVersion = older }
        #expect(c.wait(10) { c.logs[leader]!.entryFormat == older }, "leader \(leader) writes \(c.logs[leader]!.entryFormat)")
        // What the cluster writes from now on is what n3 reads: a postpone that format 5 would
        // write with its due times seen (version 5) reaches n3 as version 4.
        let postpone = SpoolCommand.postpone(.init(issuedAt: 1, items: [.init(queueID: "Q1", at: 2, seen: 3)]))
        let index = try Self.propose(postpone, on: c.logs[leader]!)
        let n3 = c.logs["n3"]!
        var version: UInt8?
        #expect(c.wait(10) {
            version = n3.onLoop { l in (try? l.storage.entries(from: index, to: index + 1, maxBytes: 1 << 20))?.first?.data.first }
            return version != nil
        }, "n3 has entry \(index)")
        #expect(version == older, "entry \(index) version \(String(describing: version))")
        // n3 dials only its leader; the follower learns from the leader's view that a member it
        // has no connection from may be older, and saves that too.
        for n in ["n1", "n2"] {
            #expect(c.wait(5) { c.logs[n]!.onLoop { $0.rememberedFormats["n3"] } == older },
                    "\(n) saved \(String(describing: c.logs[n]!.onLoop { $0.rememberedFormats }))")
        }
        // Down again, and the others restart: the saved format is now the older one, not the newest (nor 1).
        c.stopNode("n3")
        try Self.restartSurvivors(c)
        let (again, _) = try #require(Self.leaderFormat(c))
        #expect(c.wait(5) { c.logs[again]!.entryFormat == older }, "leader \(again) writes \(c.logs[again]!.entryFormat)")
        #expect(!c.wait(1) { c.logs[again]!.entryFormat != older }, "and stays there while n3 is down")
    }

    @Test("saved formats round-trip through the raft storage's meta table")
    func storageRoundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-formats-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 1 << 20)
            #expect(try s.loadPeerFormats() == [:])
            try s.savePeerFormats(["n2": 5, "n3": 4])
            s.close()
        }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 1 << 20)
        defer { s.close() }
        #expect(try s.loadPeerFormats() == ["n2": 5, "n3": 4])
    }
}
