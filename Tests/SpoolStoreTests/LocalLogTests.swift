import Foundation
import SendarixSupport
import Synchronization
import Testing
@testable import SpoolStore

@Suite("LocalLog group commit")
struct LocalLogTests {
    /// Runs `proposers` concurrent tasks, each proposing `perProposer` 5 KB enqueues one after another.
    static func load(_ log: LocalLog, proposers: Int, perProposer: Int, prefix: String) async -> [Result<UInt64, StoreError>] {
        let body = testBody(size: 5 * 1024, seed: 5)
        return await withTaskGroup(of: [Result<UInt64, StoreError>].self) { group in
            for p in 0..<proposers {
                group.addTask {
                    var out: [Result<UInt64, StoreError>] = []
                    for i in 0..<perProposer {
                        // Time-ordered IDs, like the relay's queue ID generator produces.
                        let id = "\(prefix)-\(String(1_000_000 + i).dropFirst())-\(String(100 + p).dropFirst())"
                        out.append(await log.proposeAndWait(makeEnqueue(id, recipients: ["r\(i)-\(p)@example.org"],
                                                                        body: body)))
                    }
                    return out
                }
            }
            var all: [Result<UInt64, StoreError>] = []
            for await part in group { all += part }
            return all
        }
    }

    @Test("concurrent proposals share transactions, and every proposal gets a distinct index")
    func batches() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let results = await Self.load(log, proposers: 20, perProposer: 25, prefix: "G")
        let indexes = results.compactMap { try? $0.get() }
        #expect(indexes.count == 500)
        #expect(Set(indexes) == Set(1...500))
        let stats = log.statistics
        #expect(stats.proposals == 500)
        #expect(stats.transactions < stats.proposals)
        #expect(stats.largestBatch > 1)
        #expect(try store.queueCount() == 500)
        log.stop()
    }

    @Test("the writer thread is named spool-writer and runs at options.writerNice")
    func writerNice() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let before = ThreadPriority.nice()
        let log = try LocalLog(store: store, options: LocalLog.Options(writerNice: before + 5))
        defer { log.stop() }
        // A committed proposal: the writer thread has started.
        let results = await Self.load(log, proposers: 1, perProposer: 1, prefix: "N")
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        var writers: [Int] = []
        for tid in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") {
            let path = "/proc/self/task/\(tid)"
            guard (try? String(contentsOfFile: path + "/comm", encoding: .utf8))?.hasPrefix("spool-writer") == true,
                  let stat = try? String(contentsOfFile: path + "/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // Field 19 (nice) is the 17th after "pid (comm)".
            if let nice = Int(stat[stat.index(after: close)...].split(separator: " ")[16]) { writers.append(nice) }
        }
        // Other tests may run logs of their own at the default (inherited) value at the same time.
        #expect(writers.contains(Int(before) + 5), "spool-writer threads' nice values: \(writers)")
    }

    @Test("every proposal waiting when the writer wakes goes into one transaction")
    func oneTransaction() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        log.hold()
        let results = await withTaskGroup(of: Result<UInt64, StoreError>.self) { group in
            for i in 0..<100 {
                group.addTask { await log.proposeAndWait(makeEnqueue("H\(i)")) }
            }
            // Release once all 100 are queued (each task proposes, then suspends until its completion).
            while log.pendingCount < 100 { await Task.yield() }
            log.release()
            var out: [Result<UInt64, StoreError>] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.allSatisfy { $0.isSuccess })
        let stats = log.statistics
        #expect(stats.transactions == 1 && stats.proposals == 100 && stats.largestBatch == 100)
        #expect(stats.commitNanoseconds > 0)
        log.stop()
    }

    @Test("when the store is full, outcomes and deletes batched with enqueues that do not fit still commit")
    func fullStoreFallback() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path, options: .init(mapSize: 2 << 20))
        let log = try LocalLog(store: store)
        var accepted = 0
        while await log.proposeAndWait(makeEnqueue("F\(accepted)", body: testBody(size: 100_000, seed: 1))).isSuccess {
            accepted += 1
        }
        #expect(accepted > 2)
        log.hold()
        let big = makeEnqueue("too-big", body: testBody(size: 1_000_000, seed: 2))
        async let bigResult = log.proposeAndWait(big)
        async let deleteResult = log.proposeAndWait(.delete(.init(queueID: "F0", reason: "space", timestamp: 1)))
        while log.pendingCount < 2 { await Task.yield() }
        log.release()
        let (b, d) = await (bigResult, deleteResult)
        #expect(b.failureCode == .storageFull)
        #expect(d.isSuccess)
        #expect(try store.message(id: "F0") == nil)
        #expect(try store.message(id: "too-big") == nil)
        #expect(try store.queueCount() == accepted - 1)
        log.stop()
    }

    @Test("a batch is bounded by count; all proposals still commit")
    func boundedBatch() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store, options: .init(maxBatchCount: 4))
        let results = await Self.load(log, proposers: 16, perProposer: 5, prefix: "B")
        #expect(results.allSatisfy { $0.isSuccess })
        #expect(log.statistics.largestBatch <= 4)
        #expect(log.statistics.transactions >= 20)
        log.stop()
    }

    @Test("rejected commands in a batch do not affect the others in it")
    func mixedBatch() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let results = await withTaskGroup(of: (Int, Result<UInt64, StoreError>).self) { group in
            for i in 0..<40 {
                // Every even proposal duplicates the ID of the previous odd one's pair.
                group.addTask { (i, await log.proposeAndWait(makeEnqueue("M\(i / 2)"))) }
            }
            var out: [(Int, Result<UInt64, StoreError>)] = []
            for await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0.1.isSuccess }.count == 20)
        #expect(results.filter { $0.1.failureCode == .duplicate }.count == 20)
        #expect(try store.queueCount() == 20)
        #expect(try store.lastApplied().index == 40)
        log.stop()
    }

    @Test("proposals after stop fail with .closed; pending ones before stop are committed")
    func stopDrains() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let done = Mutex(0)
        for i in 0..<50 {
            log.propose(makeEnqueue("S\(i)")) { r in if case .success = r { done.withLock { $0 += 1 } } }
        }
        log.stop()
        #expect(done.withLock { $0 } == 50)
        #expect(await log.proposeAndWait(makeEnqueue("S-late")).failureCode == .closed)
        #expect(try store.queueCount() == 50)
    }

    @Test("the local log is trimmed to the retained number of records")
    func retention() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store, options: .init(retainedLogEntries: 10))
        for i in 0..<30 { _ = try await log.proposeAndWait(makeEnqueue("T\(i)")).get() }
        #expect(try store.tableCounts()["log"]! <= 11)
        #expect(try store.logEntry(index: 30) != nil)
        #expect(try store.logEntry(index: 5) == nil)
        log.stop()
    }

    @Test("throughput check: 20 concurrent proposers enqueue 5 KB messages durably (prints rate)")
    func throughput() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let start = ContinuousClock.now
        let results = await Self.load(log, proposers: 20, perProposer: 200, prefix: "X")
        let elapsed = ContinuousClock.now - start
        #expect(results.allSatisfy { $0.isSuccess })
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let stats = log.statistics
        print("SpoolStore throughput: \(results.count) durable 5 KB enqueues in \(seconds) s = "
              + "\(Int(Double(results.count) / seconds))/s, \(stats.transactions) transactions, "
              + "largest batch \(stats.largestBatch), mean commit "
              + "\(stats.commitNanoseconds / UInt64(max(stats.transactions, 1)) / 1000) µs")
        log.stop()
    }
}
