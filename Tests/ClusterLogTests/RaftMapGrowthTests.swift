@testable import ClusterLog
import Foundation
import RaftCore
import Synchronization
import Testing
import TestSupport

/// The raft store's LMDB map grows by itself (`LogBodyReader+MapGrowth.swift`): under load with
/// body readers on other threads, without waiting for a backup copy in progress, and admission's
/// free-space figure counts what the map may still grow into.
@Suite("Raft map growth")
struct RaftMapGrowthTests {
    static let mib = 1 << 20

    /// The data of entry `index`: `size` bytes derived from the index, so any reader can check them.
    static func data(_ index: UInt64, size: Int) -> [UInt8] {
        var x = index &* 0x9E37_79B9_7F4A_7C15
        return (0..<size).map { _ in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: x >> 56)
        }
    }

    static func entries(_ range: ClosedRange<UInt64>, size: Int) -> [Raft.Entry] {
        range.map { Raft.Entry(term: 1, index: $0, data: data($0, size: size)) }
    }

    @Test("a 2 MiB raft map takes 20 MB of entries by growing, while readers on other threads read bodies back across the growths")
    func growsUnderLoadWithReaders() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 2 * Self.mib, maxMapSize: 256 * Self.mib)
        let grown = Mutex<[(Int, Int)]>([])
        s.bodyReader.onMapGrown { from, to in grown.withLock { $0.append((from, to)) } }
        let size = 100_000
        let expected = (0...201).map { Self.data($0, size: size) }
        try s.persist(entries: Self.entries(1...1, size: size), hardState: Raft.HardState(term: 1, vote: 1, commit: 1))
        let stored = Atomic<UInt64>(1)
        let stop = Atomic<Bool>(false)
        let reads = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let readers = DispatchGroup()
        let reader = s.bodyReader
        for r in 0..<3 {
            DispatchQueue.global().async(group: readers) {
                var n = UInt64(r)
                while !stop.load(ordering: .relaxed) {
                    n = n &* 2_862_933_555_777_941_757 &+ 3_037_000_493
                    let index = 1 + n % stored.load(ordering: .acquiring)
                    do {
                        // Bytes at an offset inside the entry, as the spool reads a body, compared
                        // in place in the map (a remap under the reader would show here).
                        let same = try reader.withEntryBytes(index: index, offset: 1_000, length: 50_000) {
                            $0.elementsEqual(expected[Int(index)][1_000..<51_000])
                        }
                        guard same == true else { throw ClusterError(.corrupt, "entry \(index) read back wrong (\(String(describing: same)))") }
                        reads.add(1, ordering: .relaxed)
                    } catch {
                        failures.withLock { if $0.count < 20 { $0.append("\(error)") } }
                    }
                }
            }
        }
        defer {
            stop.store(true, ordering: .relaxed)
            readers.wait()
        }
        var refused: [String] = []
        var readsAtGrowth: [Int] = []
        for batch in 0..<20 {  // 200 entries of 100 KB: 20 MB into a 2 MiB map
            let first = UInt64(2 + batch * 10)
            do {
                try s.persist(entries: Self.entries(first...first + 9, size: size), hardState: nil)
                stored.store(first + 9, ordering: .releasing)
            } catch {
                refused.append("\(first): \(error)")
                break
            }
            if grown.withLock({ $0.count }) > readsAtGrowth.count { readsAtGrowth.append(reads.load(ordering: .relaxed)) }
        }
        #expect(refused.isEmpty, "\(refused)")
        #expect(s.lastIndex == 201)
        // Reads go on after the last growth too.
        let after = reads.load(ordering: .relaxed)
        let deadline = Date().addingTimeInterval(30)
        while reads.load(ordering: .relaxed) < after + 30 && Date() < deadline { usleep(2_000) }
        stop.store(true, ordering: .relaxed)
        readers.wait()
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(reads.load(ordering: .relaxed) >= after + 30)
        let steps = grown.withLock { $0 }
        #expect(steps.count >= 2 && steps.count == s.bodyReader.mapGrowthCount, "\(steps)")
        #expect(steps.allSatisfy { $0.1 > $0.0 && $0.1 <= 256 * Self.mib }, "\(steps)")
        let usage = try s.bodyReader.spaceUsage()
        #expect(usage.mapSize >= 20 * Self.mib)
        // Every entry reads back whole after the growths, on this thread too.
        for i in stride(from: UInt64(1), through: 201, by: 20) {
            #expect(try s.entries(from: i, to: i + 1, maxBytes: 1 << 20).first?.data == Self.data(i, size: size))
        }
        s.close()
        // Reopened, the map is at least the data's size.
        let again = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 2 * Self.mib)
        defer { again.close() }
        #expect(again.lastIndex == 201)
        #expect(try again.bodyReader.withEntryBytes(index: 201, offset: 0, length: size) { Array($0) } == Self.data(201, size: size))
    }

    @Test("a raft map at its maximum refuses the write that does not fit, and the free figure counts growth room up to the maximum")
    func maximumAndAvailable() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 2 * Self.mib, maxMapSize: 8 * Self.mib)
        defer { s.close() }
        let empty = try #require(s.bodyReader.availableBytes())
        // What the map may grow into counts, not only the 2 MiB it has now.
        #expect(empty > 7 * Self.mib && empty <= 8 * Self.mib, "\(empty)")
        var index: UInt64 = 1
        var failed: ClusterError?
        while index < 200 {
            do {
                try s.persist(entries: Self.entries(index...index, size: 100_000), hardState: index == 1 ? Raft.HardState(term: 1) : nil)
                index += 1
            } catch {
                failed = error
                break
            }
        }
        let error = try #require(failed, "8 MiB never filled")
        #expect(RaftLogStorage.isMapFull(error), "\(error)")
        // Somewhere between 6 and 8 MB got in: the map grew to its maximum, not past it.
        #expect(index > 60 && index <= 82, "\(index)")
        let usage = try s.bodyReader.spaceUsage()
        #expect(usage.mapSize == 8 * Self.mib)
        #expect(try #require(s.bodyReader.availableBytes()) < Self.mib)
    }

    @Test("a commit that needs the map to grow completes while a backup copy of the raft store is still in progress")
    func growthDoesNotWaitForBackup() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 4 * Self.mib, maxMapSize: 256 * Self.mib)
        defer { s.close() }
        // 1.5 MB of entries in two writes: the map keeps more than a quarter, and more than twice
        // a write, free, so nothing grows ahead of need.
        try s.persist(entries: Self.entries(1...8, size: 100_000), hardState: Raft.HardState(term: 1, vote: 1, commit: 8))
        try s.persist(entries: Self.entries(9...15, size: 100_000), hardState: nil)
        #expect(s.bodyReader.mapGrowthCount == 0)
        let growth = s.bodyReader.growth
        let backupDir = dir + "-copy"
        defer { try? FileManager.default.removeItem(atPath: backupDir) }
        // `backup` runs on any thread beside the driving one. The copy holds its read transaction
        // across batches; each pauses until the commit below finished or a growth waits.
        nonisolated(unsafe) let storage = s
        let backup = CopyInProgress()
        #expect(backup.start(release: { growth.waiting.load(ordering: .relaxed) }) { onBatch in
            try storage.backup(to: backupDir, batchBytes: 64 << 10, onBatch: onBatch)
        })
        // 6 MB in one write: more than the map has left, so it must grow first.
        var commitError: String?
        do {
            try s.persist(entries: Self.entries(16...75, size: 100_000), hardState: nil)
        } catch {
            commitError = "\(error)"
        }
        let backupWasRunning = backup.finishWork()
        let backupError = backup.wait()
        #expect(commitError == nil, "\(commitError ?? "")")
        #expect(backupWasRunning, "the commit finished only after the backup")
        #expect(s.bodyReader.mapGrowthCount >= 1)
        #expect(backupError == nil, "\(backupError ?? "")")
        // The copy is a whole, consistent store of one moment: before or after the 60 entries.
        let copy = try RaftLogStorage(directory: backupDir, initialVoters: [])
        defer { copy.close() }
        #expect(copy.lastIndex == 15 || copy.lastIndex == 75, "\(copy.lastIndex)")
        #expect(copy.initialState().hardState.term == 1)
        #expect(try copy.entries(from: copy.lastIndex, to: copy.lastIndex + 1, maxBytes: 1 << 20).first?.data
                == Self.data(copy.lastIndex, size: 100_000))
    }
}
