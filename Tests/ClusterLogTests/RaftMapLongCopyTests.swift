@testable import ClusterLog
import Foundation
import Glibc
import SpoolStore
import RaftCore
import Testing
import TestSupport

/// A backup copy of the raft store holds one read transaction for its whole run
/// (`LMDBChunkedCopy`): writes, growths, adoptions and the closing of the log must not wait for
/// it, nor may the copy be restarted by every growth ahead of need.
@Suite("Raft map and a long backup copy")
struct RaftMapLongCopyTests {
    static let mib = 1 << 20

    /// A raft store in `dir` with a 4 MiB map growing up to `maxMapMiB`, holding `last` entries of
    /// 100 KB (term 1, committed) written 8 at a time: about 1.5 MB for 15, which leaves the map
    /// more than a quarter, and more than twice a write, free, so nothing grows ahead of need.
    static func store(_ dir: String, maxMapMiB: Int = 256, last: UInt64 = 15) throws -> RaftLogStorage {
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 4 * mib, maxMapSize: maxMapMiB * mib)
        for first in stride(from: UInt64(1), through: last, by: 8) {
            try s.persist(entries: RaftMapGrowthTests.entries(first...min(first + 7, last), size: 100_000),
                          hardState: first == 1 ? Raft.HardState(term: 1, vote: 1, commit: last) : nil)
        }
        return s
    }

    /// Starts a backup of `s` into `dir` held at its batch boundaries (64 KiB) until the test's
    /// work is done or an urgent wait for the env (`MapGrowthState.urgent`) asks it to go on.
    static func startBackup(_ s: RaftLogStorage, to dir: String) -> CopyInProgress? {
        let growth = s.bodyReader.growth
        nonisolated(unsafe) let storage = s
        let backup = CopyInProgress()
        let started = backup.start(release: { growth.urgent.load(ordering: .relaxed) > 0 }) { onBatch in
            try storage.backup(to: dir, batchBytes: 64 << 10, onBatch: onBatch)
        }
        return started ? backup : nil
    }

    @Test("appends and compactions that churn 10 MB through a 4 MiB raft map go on while a backup copy pins the freed pages, whether the map may still grow or is at its maximum",
          arguments: [256, 4])
    func churnUnderLongCopy(maxMapMiB: Int) throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try Self.store(dir, maxMapMiB: maxMapMiB)
        defer { s.close() }
        let backupDir = dir + "-copy"
        defer { try? FileManager.default.removeItem(atPath: backupDir) }
        let backup = try #require(Self.startBackup(s, to: backupDir))
        // Each round appends 1 MB and compacts as much away, keeping the last 15 entries: the pages
        // in use stay about 1.5 MB, but the copy's read transaction keeps every page freed after it
        // began from reuse (a copy that starts over copies 1.5 MB again, held as well).
        var failure: String?
        for round in 0..<10 where failure == nil {
            let first = UInt64(16 + round * 10)
            do {
                try s.persist(entries: RaftMapGrowthTests.entries(first...first + 9, size: 100_000), hardState: nil)
                try s.compact(to: first + 9 - 15)
            } catch {
                failure = "round \(round): \(error)"
            }
            backup.workProgressed()
        }
        let backupWasRunning = backup.finishWork()
        let backupError = backup.wait()
        #expect(failure == nil, "\(failure ?? "")")
        #expect(s.lastIndex == 115)
        #expect(backupWasRunning, "the writes finished only after the backup (\(backup.failSafeExpiries) pauses ended by the fail-safe, \(backup.releases) released)")
        #expect(backup.failSafeExpiries == 0, "a round of writes waited 120 s for the copy")
        #expect(backupError == nil, "\(backupError ?? "")")
        let usage = try s.bodyReader.spaceUsage()
        #expect(usage.mapSize <= max(4, maxMapMiB) * Self.mib)
        let copy = try RaftLogStorage(directory: backupDir, initialVoters: [])
        defer { copy.close() }
        #expect(copy.initialState().hardState.term == 1)
        #expect(copy.lastIndex >= 15 && copy.lastIndex <= 115)
    }

    @Test("a backup copy goes on while a growth ahead of need waits for the env, and starts over once for a full map's growth",
          arguments: [false, true])
    func copyStepsOutOnlyForUrgentWaits(urgent: Bool) throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try Self.store(dir, last: 8)
        defer { s.close() }
        let reader = s.bodyReader
        let growth = reader.growth
        nonisolated(unsafe) let lock = reader.lock
        let backupDir = dir + "-copy"
        defer { try? FileManager.default.removeItem(atPath: backupDir) }
        var copy = LMDBChunkedCopy(tables: [(name: "entries", dbi: s.dbEntries), (name: "meta", dbi: s.dbMeta)])
        copy.batchBytes = 64 << 10
        // At the first batch boundary another thread waits for the env as a growth does (ahead of
        // need, or `urgent` for a full map), with a generous bound; the copy goes on once it waits.
        var triggered = false
        let grower = DispatchGroup()
        copy.onBatch = {
            guard !triggered else { return }
            triggered = true
            DispatchQueue.global().async(group: grower) {
                if growth.lockExclusively(lock, timeout: 10, urgent: urgent) { pthread_rwlock_unlock(lock) }
            }
            while !growth.waiting.load(ordering: .relaxed) { usleep(100) }
        }
        try copy.run(env: s.env, to: backupDir, growth: growth,
                     shared: { body in
                         try reader.lockShared(context: "copy")
                         defer { pthread_rwlock_unlock(reader.lock) }
                         try body()
                     },
                     adoptMapSize: { try reader.adoptMapSize(timeout: nil) })
        grower.wait()
        #expect(triggered)
        #expect(copy.restarts == (urgent ? 1 : 0), "\(copy.restarts) restarts")
        let copied = try RaftLogStorage(directory: backupDir, initialVoters: [])
        defer { copied.close() }
        #expect(copied.lastIndex == 8)
    }

    @Test("no growth ahead of need is tried while a backup copy runs (the raft loop would wait for it); after the copy the map grows ahead of need")
    func noAheadGrowthDuringCopy() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try Self.store(dir)
        defer { s.close() }
        #expect(s.bodyReader.mapGrowthCount == 0)
        let growth = s.bodyReader.growth
        let backupDir = dir + "-copy"
        defer { try? FileManager.default.removeItem(atPath: backupDir) }
        let backup = try #require(Self.startBackup(s, to: backupDir))
        // 1.7 MB more: it fits, but leaves less than a quarter of the map, and the check after the
        // commit is due.
        growth.lastCheck.store(0, ordering: .relaxed)
        let waitsBefore = growth.exclusiveWaits.load(ordering: .relaxed)
        try s.persist(entries: RaftMapGrowthTests.entries(16...32, size: 100_000), hardState: nil)
        let waitsDuringCopy = growth.exclusiveWaits.load(ordering: .relaxed) - waitsBefore
        let grownDuringCopy = s.bodyReader.mapGrowthCount
        #expect(backup.finishWork(), "the write finished only after the backup")
        #expect(backup.wait() == nil)
        #expect(grownDuringCopy == 0)
        #expect(waitsDuringCopy == 0, "a growth waited for the env during the copy")
        do {
            let copy = try RaftLogStorage(directory: backupDir, initialVoters: [])
            defer { copy.close() }
            #expect(copy.lastIndex == 15, "\(copy.lastIndex)")
        }
        // With the copy done the next due check grows the map.
        growth.lastCheck.store(0, ordering: .relaxed)
        try s.persist(entries: RaftMapGrowthTests.entries(33...33, size: 1_000), hardState: nil)
        #expect(s.bodyReader.mapGrowthCount == 1)
    }

    @Test("closing the raft log during a backup copy does not wait for the copy: the copy stops with the log closed")
    func closeDoesNotWaitForCopy() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try Self.store(dir, last: 3)
        let backupDir = dir + "-copy"
        defer { try? FileManager.default.removeItem(atPath: backupDir) }
        let backup = try #require(Self.startBackup(s, to: backupDir))
        s.close()
        // The copy, held at its first batch boundary, steps out when the close asks (`urgent`) and
        // then finds the log closed, which it may do before or after `close` returns (the copy's
        // thread and this one race for the CPU): what tells a close that waited for the copy is
        // how the pause ended, by the close's request or by the fail-safe.
        _ = backup.finishWork()
        let copyError = backup.wait()
        #expect(backup.failSafeExpiries == 0, "the close returned only after the copy's fail-safe let it go on")
        #expect(backup.releases >= 1, "the copy did not step out for the close")
        let error = try #require(copyError, "the copy of a closed log succeeded")
        #expect(error.contains("closed"), "\(error)")
    }

    @Test("adopting a map size another process set gives up with a storage error while another thread's read does not end")
    func adoptionIsBounded() throws {
        let dir = RaftLogStorageTests.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try RaftLogStorage(directory: dir, initialVoters: [1], mapSize: 4 * Self.mib, maxMapSize: 256 * Self.mib)
        defer { s.close() }
        let reader = s.bodyReader
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            _ = try? reader.withReadTransaction("held read") { _ in
                holding.signal()
                _ = release.wait(timeout: .now() + 20)
            }
        }
        holding.wait()
        var adoptError: ClusterError?
        do { try reader.adoptMapSize() } catch { adoptError = error }
        release.signal()
        group.wait()
        let error = try #require(adoptError, "the adoption waited for the read to end")
        #expect(error.code == .storage, "\(error)")
        // With the read ended it adopts.
        try reader.adoptMapSize()
    }
}
