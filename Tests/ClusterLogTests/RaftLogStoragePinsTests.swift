@testable import ClusterLog
import Foundation
import RaftCore
import SpoolStore
import Testing

@Suite("LMDB raft storage: entries kept for message bodies")
struct RaftLogStoragePinsTests {
    @Test("compaction keeps pinned entries below the compaction point, outside the log; a reopen finds them; the sweep drops unpinned ones")
    func pinnedEntries() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1])
            try s.persist(entries: RaftLogStorageTests.entries(1...10, term: 1), hardState: Raft.HardState(term: 1, vote: 1, commit: 10))
            var asked: [ClosedRange<UInt64>] = []
            #expect(try s.compact(to: 8) { range throws(ClusterError) in
                asked.append(range)
                return [3, 5]
            } == 8)
            #expect(asked == [1...8])
            #expect(s.firstIndex == 9 && s.lastIndex == 10 && s.retainedCount == 2)
            #expect(try s.holdsEntry(3) && s.holdsEntry(5) && !s.holdsEntry(4) && !s.holdsEntry(8))
            #expect(throws: Raft.Error.self) { try s.term(at: 5) }
            #expect(try s.entries(from: 9, to: 11, maxBytes: 1 << 20) == RaftLogStorageTests.entries(9...10, term: 1))
            // New entries append after the retained ones.
            try s.persist(entries: RaftLogStorageTests.entries(11...12, term: 2), hardState: nil)
            s.close()
        }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1])
        defer { s.close() }
        #expect(s.firstIndex == 9 && s.lastIndex == 12 && s.retainedCount == 2)
        // The body reader lends bytes of a retained entry (data "e5": offset 1, length 1 is "5").
        #expect(try s.bodyReader.withEntryBytes(index: 5, offset: 1, length: 1) { Array($0) } == Array("5".utf8))
        #expect(try s.bodyReader.withEntryBytes(index: 5, offset: 1, length: 9) { Array($0) } == nil)
        #expect(try s.bodyReader.withEntryBytes(index: 4, offset: 0, length: 1) { Array($0) } == nil)
        var checked: [UInt64] = []
        #expect(try s.sweepRetained { indexes throws(ClusterError) in
            checked = indexes
            return [5]
        } == 1)
        #expect(checked == [3, 5])
        #expect(try !s.holdsEntry(3) && s.holdsEntry(5))
        #expect(s.retainedCount == 1)
        #expect(try s.sweepRetained { _ throws(ClusterError) in [] } == 1)
        #expect(s.retainedCount == 0)
        #expect(try !s.holdsEntry(5))
        s.close()
        #expect(throws: ClusterError.self) { try s.bodyReader.withEntryBytes(index: 9, offset: 0, length: 1) { _ in () } }
    }
}

extension RaftLogStoragePinsTests {
    @Test("a reopen counts the retained entries without listing them; the sweep walks them in rounds of max, round robin")
    func retainedCountedAndSweptInRounds() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pinned: [UInt64] = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1])
            try s.persist(entries: RaftLogStorageTests.entries(1...30, term: 1), hardState: Raft.HardState(term: 1, vote: 1, commit: 30))
            // Indexes outside the compacted range are not counted as retained.
            #expect(try s.compact(to: 25) { _ throws(ClusterError) in pinned + [27, 99] } == 25)
            #expect(s.retainedCount == pinned.count)
            s.close()
        }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1])
        defer { s.close() }
        #expect(s.firstIndex == 26 && s.lastIndex == 30 && s.retainedCount == pinned.count)
        var rounds: [[UInt64]] = []
        let keepAll: ([UInt64]) throws(ClusterError) -> Set<UInt64> = { indexes throws(ClusterError) in
            rounds.append(indexes)
            return Set(indexes)
        }
        for _ in 0..<4 { #expect(try s.sweepRetained(max: 4, stillPinned: keepAll) == 0) }
        #expect(rounds == [[2, 4, 6, 8], [10, 12, 14, 16], [18, 20], [2, 4, 6, 8]])
        // Dropping some in a round: the next round goes on after the last one checked.
        rounds = []
        #expect(try s.sweepRetained(max: 4) { indexes throws(ClusterError) in
            rounds.append(indexes)
            return [10, 16]
        } == 2)
        #expect(s.retainedCount == pinned.count - 2)
        #expect(try s.sweepRetained(max: 4, stillPinned: keepAll) == 0)
        #expect(rounds == [[10, 12, 14, 16], [18, 20]])
        #expect(try !s.holdsEntry(12) && !s.holdsEntry(14) && s.holdsEntry(10) && s.holdsEntry(16))
    }
}

@Suite("Raft applier: where an enqueue's body lies in its entry")
struct BodyOffsetTests {
    @Test("the body offset is the end of the encoded enqueue minus the body; other commands, empty bodies and trailing bytes give none")
    func offsets() {
        let command = LogBodyClusterTests.enqueue("OFF", size: 5000)
        let data = command.encoded()
        guard case .enqueue(let e) = command else { return }
        let offset = SpoolApplier.bodyOffset(of: command, in: data)
        #expect(offset == data.count - e.body.count)
        #expect(offset.map { Array(data[$0...]) } == e.body)
        #expect(SpoolApplier.bodyOffset(of: command, in: data + [0]) == nil)
        #expect(SpoolApplier.bodyOffset(of: .delete(.init(queueID: "OFF", reason: "x", timestamp: 1)), in: data) == nil)
        let empty = SpoolCommand.enqueue(.init(queueID: "E", sender: "a@example.com", recipients: [.init(address: "b@example.org")],
                                               receivedAt: 1, body: []))
        #expect(SpoolApplier.bodyOffset(of: empty, in: empty.encoded()) == nil)
    }
}
