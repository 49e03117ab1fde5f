import Foundation
import Synchronization
import Testing
import TestSupport
@testable import SpoolStore

/// A backup copy (a long read) does not hold a map growth, nor the commit waiting for it
/// (`LMDBChunkedCopy`): the copy steps out of its read transaction when a growth waits and starts
/// over after it, so the copy is still of one moment.
@Suite("Backups and map growth")
struct BackupMapGrowthTests {
    @Test("an enqueue that needs the map to grow commits while a backup copy of the spool is still in progress, and the copy is whole")
    func growthDoesNotWaitForBackup() async throws {
        let dir = TempDirectory()
        var options = SpoolStore.Options(mapSize: 4 << 20, durable: false)
        options.maxMapSize = 256 << 20
        let store = try SpoolStore(directory: dir.path + "/spool", options: options)
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        // About 1.5 MB: the map keeps more than a quarter free, so nothing grows ahead of need.
        var bodies: [String: [UInt8]] = [:]
        for i in 0..<10 {
            bodies["B\(i)"] = testBody(size: 150_000, seed: UInt64(i + 1))
            #expect(await log.proposeAndWait(makeEnqueue("B\(i)", body: bodies["B\(i)"]!)).isSuccess)
        }
        #expect(store.mapGrowthCount == 0)
        let growth = store.mapGrowth
        let copyDir = dir.path + "/copy"
        // A 6 MB body: more than the 4 MiB map has left, so the commit below finds it full and grows
        // it. Made before the copy starts: on a loaded machine making it took long enough for the
        // copy's paused batches to reach the 20 s fail-safe they then had before the enqueue was even proposed.
        bodies["big"] = testBody(size: 6_000_000, seed: 99)
        // The copy holds its read transaction across batches; each pauses until the enqueue below
        // finished or a growth waits.
        let backup = CopyInProgress()
        #expect(backup.start(release: { growth.waiting.load(ordering: .relaxed) }) { onBatch in
            try store.backup(to: copyDir, batchBytes: 64 << 10, onBatch: onBatch)
        })
        let result = await log.proposeAndWait(makeEnqueue("big", body: bodies["big"]!))
        let backupWasRunning = backup.finishWork()
        let backupError = backup.wait()
        #expect(result.isSuccess, "\(result)")
        #expect(backupWasRunning, "the enqueue committed only after the backup finished")
        // Each pause of the copy ended at the growth's request or after the enqueue, never by its
        // fail-safe (an enqueue that waited for the copy shows as a fail-safe expiry).
        #expect(backup.failSafeExpiries == 0, "\(backup.failSafeExpiries) pauses ended by the fail-safe")
        #expect(store.mapGrowthCount >= 1)
        #expect(backupError == nil, "\(backupError ?? "")")
        // The copy opens as a store and holds the ten first messages whole (and "big" whole, or
        // not at all: the copy is of one moment).
        let copy = try SpoolStore(directory: copyDir, options: SpoolStore.Options(mapSize: 64 << 20, durable: false))
        defer { copy.close() }
        for i in 0..<10 { #expect(try copy.messageBody(id: "B\(i)") == bodies["B\(i)"]) }
        if try copy.message(id: "big") != nil { #expect(try copy.messageBody(id: "big") == bodies["big"]) }
        #expect(try copy.lastApplied().index >= 10)
    }

    @Test("a commit that needs the map to grow while another thread's read does not end fails as full after the bounded wait, then commits once the read ended")
    func fullMapGrowthWaitIsBounded() async throws {
        let dir = TempDirectory()
        var options = SpoolStore.Options(mapSize: 4 << 20, durable: false)
        options.maxMapSize = 256 << 20
        options.fullMapGrowthWait = 0.3
        let store = try SpoolStore(directory: dir.path + "/spool", options: options)
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        #expect(await log.proposeAndWait(makeEnqueue("small")).isSuccess)
        // A 6 MB body does not fit the 4 MiB map. Made before the read starts: on a loaded machine
        // making it could take long enough for the read's fail-safe to end it before the enqueue.
        let body = testBody(size: 6_000_000, seed: 5)
        // Another thread holds the env for a read until told to stop (a 120 s fail-safe ends it: a
        // hang guard, the signal below ends it right after the enqueue).
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let reader = DispatchGroup()
        DispatchQueue.global().async(group: reader) {
            try? store.withOpenEnv {
                holding.signal()
                _ = release.wait(timeout: .now() + 120)
            }
        }
        holding.wait()
        // The growth cannot get the env while the read runs.
        let held = await log.proposeAndWait(makeEnqueue("big", body: body))
        release.signal()
        reader.wait()
        #expect(held.failureCode == .storageFull, "\(held)")
        #expect(store.mapGrowthCount == 0)
        let after = await log.proposeAndWait(makeEnqueue("big", body: body))
        #expect(after.isSuccess, "\(after)")
        #expect(store.mapGrowthCount >= 1)
        #expect(try store.messageBody(id: "big") == body)
    }
}
