import Foundation
import Synchronization
import Testing
@testable import SpoolStore

/// A stand-in raft log: entry index → entry data (as `LogBodyReader` reads it, minus the header).
final class FakeEntryLog: LogBodySource {
    let entries = Mutex<[UInt64: [UInt8]]>([:])
    let reads = Atomic<Int>(0)

    func withEntryBytes<T>(index: UInt64, offset: Int, length: Int,
                           _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T? {
        reads.add(1, ordering: .relaxed)
        guard let data = entries.withLock({ $0[index] }), offset + length <= data.count else { return nil }
        return try data[offset..<(offset + length)].withUnsafeBytes { try body($0) }
    }
}

@Suite("Spool: bodies kept in the raft log")
struct LogBodyTests {
    /// Applies `command` at `index` the way the cluster applier does with bodies in the log.
    static func applyInLog(_ store: SpoolStore, _ log: FakeEntryLog, _ command: SpoolCommand, index: UInt64) throws {
        let data = command.encoded()
        log.entries.withLock { $0[index] = data }
        var entry = LogEntry(index: index, term: 1, command: command)
        if case .enqueue(let e) = command { entry.bodyOffset = data.count - e.body.count }
        let results = try store.commit([entry], appendToLog: false)
        try results[0].get()
    }

    static func applyCopied(_ store: SpoolStore, _ command: SpoolCommand, index: UInt64) throws {
        try store.commit([LogEntry(index: index, term: 1, command: command)], appendToLog: false)[0].get()
    }

    static func delete(_ id: String) -> SpoolCommand { .delete(.init(queueID: id, reason: "test", timestamp: 1)) }

    @Test("an enqueue applied with its body in the log stores a reference and a pin, no chunks; removing it drops both")
    func referenceInsteadOfCopy() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        let log = FakeEntryLog()
        store.setLogBodySource(log)
        let body = testBody(size: 100 * 1024, seed: 7)
        try Self.applyInLog(store, log, makeEnqueue("L1", body: body), index: 5)
        #expect(try store.tableCounts()["bodies"] == 0)
        #expect(try store.logBodyRef(id: "L1") == SpoolStore.LogBodyRef(index: 5, offset: makeEnqueue("L1", body: body).encoded().count - body.count, length: body.count))
        #expect(try store.logBodyPins(in: 1...10) == [5])
        #expect(try store.messageBody(id: "L1") == body)
        #expect(log.reads.load(ordering: .relaxed) == 1)
        try Self.applyCopied(store, Self.delete("L1"), index: 6)
        #expect(try store.logBodyRef(id: "L1") == nil)
        #expect(try store.logBodyPins(in: 1...10).isEmpty)
        #expect(try store.tableCounts()["logbodies"] == 0)
    }

    @Test("copied and log-held bodies coexist (a store upgraded in place): each reads back and is removed in its own layout")
    func mixedLayout() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        let log = FakeEntryLog()
        store.setLogBodySource(log)
        let old = testBody(size: 30_000, seed: 1)
        let new = testBody(size: 30_000, seed: 2)
        try Self.applyCopied(store, makeEnqueue("OLD", body: old), index: 1)
        try Self.applyInLog(store, log, makeEnqueue("NEW", body: new), index: 2)
        #expect(try store.tableCounts()["bodies"] == SpoolStore.segmentCount(bodySize: old.count, segment: SpoolKeys.chunkSize))
        #expect(try store.messageBody(id: "OLD") == old)
        #expect(try store.messageBody(id: "NEW") == new)
        try Self.applyCopied(store, Self.delete("OLD"), index: 3)
        #expect(try store.tableCounts()["bodies"] == 0)
        #expect(try store.messageBody(id: "NEW") == new)
        try Self.applyCopied(store, Self.delete("NEW"), index: 4)
        #expect(try store.tableCounts()["logbodies"] == 0)
    }

    @Test("pins are listed by index range, and checked for a given set of indexes")
    func pinQueries() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        let log = FakeEntryLog()
        for i in 1...6 { try Self.applyInLog(store, log, makeEnqueue("P\(i)", body: testBody(size: 500, seed: UInt64(i))), index: UInt64(i) * 10) }
        try Self.applyCopied(store, Self.delete("P3"), index: 70)
        #expect(try store.logBodyPins(in: 15...45) == [20, 40])
        #expect(try store.logBodyPins(in: 61...1000) == [])
        #expect(try store.logBodyPins(among: [10, 30, 50, 55]) == [10, 50])
    }

    @Test("a body whose raft entry is gone is reported corrupt, and one without an open log unavailable")
    func missingEntry() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        let log = FakeEntryLog()
        try Self.applyInLog(store, log, makeEnqueue("M", body: testBody(size: 900, seed: 3)), index: 9)
        #expect { try store.messageBody(id: "M") } throws: { ($0 as? StoreError)?.code == .unavailable }
        store.setLogBodySource(log)
        log.entries.withLock { $0[9] = nil }
        #expect { try store.messageBody(id: "M") } throws: { ($0 as? StoreError)?.code == .corrupt }
    }

    @Test("materializing copies log-held bodies into chunks and drops their references; a body the log lost keeps its reference")
    func materialize() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        let log = FakeEntryLog()
        var bodies: [String: [UInt8]] = [:]
        for i in 0..<300 {
            let body = testBody(size: 1000 + i * 37, seed: UInt64(i + 1))
            bodies["Q\(i)"] = body
            try Self.applyInLog(store, log, makeEnqueue("Q\(i)", body: body), index: UInt64(i + 1))
        }
        log.entries.withLock { $0[300] = nil }  // Q299's entry is gone
        let (copied, missing) = try store.materializeLogBodies(from: log)
        #expect(copied == 299 && missing == 1)
        store.setLogBodySource(nil)
        for i in 0..<299 {
            #expect(try store.logBodyRef(id: "Q\(i)") == nil)
            #expect(try store.messageBody(id: "Q\(i)") == bodies["Q\(i)"])
        }
        #expect(try store.logBodyRef(id: "Q299") != nil)
        #expect(try store.logBodyPins(in: 1...1000) == [300])
    }

    @Test("copying log-held bodies back (switch-off, a snapshot copy) grows a small map instead of failing with a full map")
    func copyBackGrowsTheMap() throws {
        let dir = TempDirectory()
        var options = SpoolStore.Options(mapSize: 4 << 20, durable: false)
        options.maxMapSize = 256 << 20
        let store = try SpoolStore(directory: dir.path, options: options)
        defer { store.close() }
        let log = FakeEntryLog()
        store.setLogBodySource(log)
        // 40 × 200 KB = 8 MB of bodies held in the log: twice the map the spool was opened with.
        var bodies: [String: [UInt8]] = [:]
        for i in 0..<40 {
            let id = "G\(i)"
            bodies[id] = testBody(size: 200 * 1024, seed: UInt64(i))
            try Self.applyInLog(store, log, makeEnqueue(id, body: bodies[id]!), index: UInt64(10 + i))
        }
        #expect(try store.tableCounts()["bodies"] == 0)
        let (copied, missing) = try store.materializeLogBodies(from: log)
        #expect(copied == 40 && missing == 0)
        #expect(store.mapGrowthCount >= 1)
        for (id, body) in bodies { #expect(try store.messageBody(id: id) == body) }
        #expect(try store.tableCounts()["logbodies"] == 0)
    }
}
