import Foundation
import Testing
@testable import SpoolStore

/// Bytes written per message depend on how many pages each commit copies (LMDB copy-on-write):
/// time-ordered keys are appended so leaves stay full, and delivery bookkeeping waits for the
/// commits of accepted mail instead of paying for its own (issue 16, "write each body once").
@Suite("Spool page fill and background linger")
struct PageFillTests {
    static let pageCapacity = 4096 - 16  // LMDB page minus its header

    /// Bytes a leaf node takes: header, key, value (or the 8-byte overflow page number), pointer.
    static func nodeBytes(key: Int, value: Int) -> Int {
        let inline = 8 + key + value <= 2000
        let n = 8 + key + (inline ? value : 8) + 2
        return n + (n & 1)
    }

    @Test("time-ordered enqueues committed one per transaction keep message and body leaves at least 80 % full")
    func appendKeepsLeavesFull() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let body = testBody(size: 5_000, seed: 7)
        var messageBytes = 0
        var bodyBytes = 0
        for i in 1...300 {
            let id = "Q" + String(100_000 + i).dropFirst()  // Q00001, Q00002, … (sorted by time)
            let results = try store.commit([LogEntry(index: UInt64(i), term: 0, command: makeEnqueue(id, body: body))])
            #expect(results.allSatisfy(\.isSuccess))
            let stored = try #require(try store.message(id: id))
            messageBytes += Self.nodeBytes(key: id.utf8.count, value: stored.encoded().count)
            let chunkKey = SpoolKeys.body(id, chunk: 0).count
            bodyBytes += Self.nodeBytes(key: chunkKey, value: SpoolKeys.chunkSize)
                + Self.nodeBytes(key: chunkKey, value: body.count - SpoolKeys.chunkSize)
        }
        let stats = try store.leafStatistics()
        let messages = try #require(stats["messages"])
        let bodies = try #require(stats["bodies"])
        #expect(messages.entries == 300 && bodies.entries == 600)
        let messageFill = Double(messageBytes) / Double(messages.leafPages * Self.pageCapacity)
        let bodyFill = Double(bodyBytes) / Double(bodies.leafPages * Self.pageCapacity)
        #expect(messageFill >= 0.8, "messages leaves \(messages.leafPages), fill \(messageFill)")
        #expect(bodyFill >= 0.8, "bodies leaves \(bodies.leafPages), fill \(bodyFill)")
        #expect(try store.messageBody(id: "Q00150") == body)
    }

    @Test("keys that do not sort last are still stored (the append falls back), bodies read back byte-exact")
    func outOfOrderKeysFallBack() throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        var index: UInt64 = 0
        var entries: [LogEntry] = []
        for i in stride(from: 40, through: 1, by: -1) {  // descending: every append after the first is refused
            index += 1
            let id = "R" + String(1_000 + i).dropFirst()
            entries.append(LogEntry(index: index, term: 0, command: makeEnqueue(id, body: testBody(size: 9_000 + i, seed: UInt64(i)))))
        }
        #expect(try store.commit(Array(entries[..<20])).allSatisfy(\.isSuccess))
        #expect(try store.commit(Array(entries[20...])).allSatisfy(\.isSuccess))
        #expect(try store.queueCount() == 40)
        for i in 1...40 {
            #expect(try store.messageBody(id: "R" + String(1_000 + i).dropFirst()) == testBody(size: 9_000 + i, seed: UInt64(i)))
        }
    }

    static func claim(_ id: String) -> SpoolCommand {
        .claim(.init(queueID: id, owner: "n1", attempt: 1, issuedAt: 1_700_000_000_000, expiresAt: 1_700_000_060_000))
    }

    /// Waits (yielding) until `condition` holds; false after `limit` checks.
    static func eventually(_ limit: Int = 2_000_000, _ condition: () -> Bool) async -> Bool {
        for _ in 0..<limit {
            if condition() { return true }
            await Task.yield()
        }
        return condition()
    }

    @Test("a claim waits in the linger and commits in the same transaction as the next enqueue")
    func claimRidesWithEnqueue() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store, options: .init(backgroundLinger: 60))
        async let claimed = log.proposeAndWait(Self.claim("absent"))
        #expect(await Self.eventually { log.isLingering })
        #expect(log.statistics.transactions == 0)
        let enqueued = await log.proposeAndWait(makeEnqueue("E1"))
        let claimResult = await claimed
        #expect(enqueued.isSuccess)
        #expect(claimResult.failureCode == .notFound)  // applied (and refused) at its own index
        let stats = log.statistics
        #expect(stats.transactions == 1 && stats.proposals == 2 && stats.largestBatch == 2)
        log.stop()
    }

    @Test("a lone claim commits when the linger ends, and stop ends a linger at once")
    func lingerEnds() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let short = try LocalLog(store: store, options: .init(backgroundLinger: 0.01))
        #expect(await short.proposeAndWait(Self.claim("absent")).failureCode == .notFound)
        #expect(short.statistics.transactions == 1)
        short.stop()

        let long = try LocalLog(store: store, options: .init(backgroundLinger: 3_600))
        async let claimed = long.proposeAndWait(Self.claim("absent2"))
        #expect(await Self.eventually { long.isLingering })
        long.stop()
        #expect(await claimed.failureCode == .notFound)
        #expect(long.statistics.transactions == 1)
    }

    @Test("enqueues never linger")
    func enqueuesDoNotLinger() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store, options: .init(backgroundLinger: 3_600))
        #expect(await log.proposeAndWait(makeEnqueue("E2")).isSuccess)
        #expect(!log.isLingering)
        log.stop()
    }
}
