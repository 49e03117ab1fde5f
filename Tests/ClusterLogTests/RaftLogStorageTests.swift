@testable import ClusterLog
import Foundation
import RaftCore
import Testing

@Suite("LMDB raft storage")
struct RaftLogStorageTests {
    static func tempDir() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sx-rls-\(UUID().uuidString)").path
    }

    static func entries(_ range: ClosedRange<UInt64>, term: UInt64) -> [Raft.Entry] {
        range.map { Raft.Entry(term: term, index: $0, data: Array("e\($0)".utf8)) }
    }

    @Test("entries, hard state and membership survive a reopen")
    func reopen() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1, 2, 3])
            try s.persist(entries: Self.entries(1...5, term: 1), hardState: Raft.HardState(term: 2, vote: 3, commit: 4))
            try s.setConfState(Raft.ConfState(voters: [1, 2], learners: [3]))
            s.close()
        }
        let s = try RaftLogStorage(directory: dir, initialVoters: [9])
        let (hs, cs) = s.initialState()
        #expect(hs == Raft.HardState(term: 2, vote: 3, commit: 4))
        #expect(cs == Raft.ConfState(voters: [1, 2], learners: [3]))
        #expect(s.firstIndex == 1 && s.lastIndex == 5)
        #expect(try s.term(at: 5) == 1)
        let got = try s.entries(from: 2, to: 5, maxBytes: 1 << 20)
        #expect(got == Array(Self.entries(2...4, term: 1)))
    }

    @Test("a conflicting append replaces the tail, on disk too")
    func truncate() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1])
            try s.persist(entries: Self.entries(1...6, term: 1), hardState: nil)
            try s.persist(entries: Self.entries(4...4, term: 2), hardState: nil)
            #expect(s.lastIndex == 4)
            #expect(try s.term(at: 4) == 2)
            s.close()
        }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], cacheLimit: 0)
        #expect(s.lastIndex == 4)
        #expect(try s.entries(from: 3, to: 5, maxBytes: 1 << 20).map(\.term) == [1, 2])
    }

    @Test("compaction drops entries, answers compacted, and persists the compaction point")
    func compaction() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let s = try RaftLogStorage(directory: dir, initialVoters: [1])
            try s.persist(entries: Self.entries(1...10, term: 3), hardState: Raft.HardState(term: 3, vote: 1, commit: 10))
            #expect(try s.compact(to: 7) == 7)
            #expect(s.firstIndex == 8)
            #expect(throws: Raft.Error.self) { try s.entries(from: 7, to: 9, maxBytes: 100) }
            #expect(try s.term(at: 7) == 3)
            s.close()
        }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], cacheLimit: 0)
        #expect(s.firstIndex == 8 && s.lastIndex == 10)
        #expect(try s.snapshot().index == 7)
        #expect(try s.entries(from: 8, to: 11, maxBytes: 1 << 20).map(\.index) == [8, 9, 10])
    }

    @Test("a byte budget limits reads but always returns one entry")
    func budget() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], cacheLimit: 0)
        try s.persist(entries: Self.entries(1...10, term: 1), hardState: nil)
        s.releaseCache(through: 10)
        #expect(try s.entries(from: 1, to: 11, maxBytes: 1).count == 1)
        #expect(try s.entries(from: 1, to: 11, maxBytes: 60).count == 2)
    }
}
