import Foundation
import Testing
@testable import SpoolStore

/// Every commit copies the leaf and branch pages it touches (LMDB copy-on-write), so bytes
/// written per message fall as batches grow: delivery bookkeeping (claims, outcomes) waits for
/// the commits of accepted mail instead of paying for its own (issue 16, "write each body once").
@Suite("LocalLog background linger")
struct LocalLogLingerTests {
    static func claim(_ id: String) -> SpoolCommand {
        .claim(.init(queueID: id, owner: "n1", attempt: 1, issuedAt: 1_700_000_000_000, expiresAt: 1_700_000_060_000))
    }

    /// Waits (yielding) until `condition` holds; false after `seconds` (a hang guard: a count of
    /// yields is no bound of time, and a loaded machine can run many before the log's thread runs).
    static func eventually(seconds: Int = 60, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
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
        async let enqueued = log.proposeAndWait(makeEnqueue("E2"))
        #expect(await Self.eventually { log.statistics.transactions == 1 })
        #expect(!log.isLingering)
        log.stop()  // ends a linger, should there be one, so a failing run does not wait an hour
        #expect(await enqueued.isSuccess)
    }
}
