import Foundation
import Synchronization
import Testing
import TestSupport
@testable import SpoolStore

/// A backup copy of the spool holds one read transaction for its whole run (`LMDBChunkedCopy`):
/// commits that find the map full, and the store's closing, must not wait for it.
@Suite("Spool map and a long backup copy")
struct SpoolMapLongCopyTests {
    /// Starts a backup of `store` into `dir` held at its batch boundaries (64 KiB) until the test's
    /// work is done or an urgent wait for the env (`MapGrowthState.urgent`) asks it to go on.
    static func startBackup(_ store: SpoolStore, to dir: String) -> CopyInProgress? {
        let growth = store.mapGrowth
        let backup = CopyInProgress()
        let started = backup.start(release: { growth.urgent.load(ordering: .relaxed) > 0 }) { onBatch in
            try store.backup(to: dir, batchBytes: 64 << 10, onBatch: onBatch)
        }
        return started ? backup : nil
    }

    @Test("enqueues and deletes that churn 20 MB through a 4 MiB spool map commit while a backup copy pins the freed pages, whether the map may still grow or is at its maximum",
          arguments: [256, 4])
    func churnUnderLongCopy(maxMapMiB: Int) async throws {
        let dir = TempDirectory()
        var options = SpoolStore.Options(mapSize: 4 << 20, durable: false)
        options.maxMapSize = maxMapMiB << 20
        let store = try SpoolStore(directory: dir.path + "/spool", options: options)
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        for i in 0..<10 {
            #expect(await log.proposeAndWait(makeEnqueue("B\(i)", body: testBody(size: 150_000, seed: UInt64(i + 1)))).isSuccess)
        }
        let copyDir = dir.path + "/copy"
        let backup = try #require(Self.startBackup(store, to: copyDir))
        // Each round queues a 1 MB message and deletes it: the pages in use stay about 1.5 MB, but
        // the copy's read transaction keeps every page freed after it began from reuse.
        var failure: String?
        for round in 0..<20 where failure == nil {
            let enqueued = await log.proposeAndWait(makeEnqueue("C\(round)", body: testBody(size: 1_000_000, seed: UInt64(100 + round))))
            let deleted = await log.proposeAndWait(.delete(.init(queueID: "C\(round)", reason: "test", timestamp: 1)))
            if !enqueued.isSuccess || !deleted.isSuccess { failure = "round \(round): \(enqueued) \(deleted)" }
            backup.workProgressed()
        }
        let backupWasRunning = backup.finishWork()
        let backupError = backup.wait()
        #expect(failure == nil, "\(failure ?? "")")
        #expect(backupWasRunning, "the commits finished only after the backup (\(backup.failSafeExpiries) pauses ended by the fail-safe, \(backup.releases) released)")
        #expect(backup.failSafeExpiries == 0, "a round of commits waited 120 s for the copy")
        #expect(backupError == nil, "\(backupError ?? "")")
        #expect(try store.spaceUsage().mapSize <= max(4, maxMapMiB) << 20)
        let copy = try SpoolStore(directory: copyDir, options: SpoolStore.Options(mapSize: 64 << 20, durable: false))
        defer { copy.close() }
        for i in 0..<10 { #expect(try copy.messageBody(id: "B\(i)") == testBody(size: 150_000, seed: UInt64(i + 1))) }
    }

    @Test("closing the spool during a backup copy does not wait for the copy: the copy stops with the store closed")
    func closeDoesNotWaitForCopy() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path + "/spool", options: SpoolStore.Options(mapSize: 4 << 20, durable: false))
        defer { store.close() }
        let log = try LocalLog(store: store)
        for i in 0..<3 {
            #expect(await log.proposeAndWait(makeEnqueue("B\(i)", body: testBody(size: 100_000, seed: UInt64(i + 1)))).isSuccess)
        }
        log.stop()
        let backup = try #require(Self.startBackup(store, to: dir.path + "/copy"))
        store.close()
        // The copy, held at its first batch boundary, steps out when the close asks (`urgent`) and
        // then finds the store closed, which it may do before or after `close` returns (the copy's
        // thread and this one race for the CPU): what tells a close that waited for the copy is
        // how the pause ended, by the close's request or by the fail-safe.
        _ = backup.finishWork()
        let copyError = backup.wait()
        #expect(backup.failSafeExpiries == 0, "the close returned only after the copy's fail-safe let it go on")
        #expect(backup.releases >= 1, "the copy did not step out for the close")
        let error = try #require(copyError, "the copy of a closed store succeeded")
        #expect(error.contains("closed"), "\(error)")
    }
}
