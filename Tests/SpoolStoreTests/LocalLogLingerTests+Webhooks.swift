import Foundation
import Registry
import Testing
@testable import SpoolStore

extension LocalLogLingerTests {
    static func batchLease(_ endpoint: String, fresh: [UInt64] = [1]) -> SpoolCommand {
        .registry(.webhook(.leaseBatches(.init(
            endpoint: endpoint, owner: "n1", incarnation: 4, issuedAt: 10, expiresAt: 20, formed: [], fresh: fresh,
            sizes: fresh.isEmpty ? [] : [UInt32(fresh.count)], array: true))))
    }

    static func callClaim(_ endpoint: String) -> SpoolCommand {
        .registry(.webhook(.claim(.init(endpoint: endpoint, sequences: [1], owner: "n1", incarnation: 4, issuedAt: 10,
                                        expiresAt: 20, batches: nil))))
    }

    @Test("the webhook dispatcher's batch results wait in the linger and commit with the next enqueue; its lease and an endpoint change do not wait")
    func webhookBookkeepingRidesWithEnqueue() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store, options: .init(backgroundLinger: 60))
        // An endpoint change is what an admin waits for: committed at once.
        async let created = log.proposeAndWait(.registry(.webhook(.create(WebhookDispatchStoreTests.endpoint("ep_a")))))
        #expect(await Self.eventually { log.statistics.transactions == 1 })
        #expect(await created.isSuccess)
        // The dispatcher waits for its lease before it sends: committed at once too.
        async let leased = log.proposeAndWait(Self.batchLease("ep_a"))
        #expect(await Self.eventually { log.statistics.transactions == 2 })
        _ = await leased
        let results = SpoolCommand.registry(.webhook(.batchResults(.init(endpoint: "ep_a", owner: "n1", incarnation: 4, results: [
            .init(first: 1, sequences: [1], attempt: .init(attempt: 1, at: 11, status: 200, latencyMillis: 3, response: "",
                                                           node: "n1"), verdict: .delivered)]))))
        async let recorded = log.proposeAndWait(results)
        #expect(await Self.eventually { log.isLingering && log.pendingCount == 1 })
        #expect(log.statistics.transactions == 2, "the results did not commit on their own")
        let enqueued = await log.proposeAndWait(makeEnqueue("E3"))
        #expect(enqueued.isSuccess)
        _ = await recorded
        let stats = log.statistics
        #expect(stats.transactions == 3 && stats.largestBatch == 2, "one commit for the results and the enqueue")
        #expect(stats.lingers == 1)
        log.stop()
    }

    @Test("with no mail arriving, the leases of many endpoints, one after another, each commit without waiting a linger")
    func idleLeasesDoNotLinger() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        // A lingering lease would wait 0.2 s: long enough to be seen lingering, short enough that a broken run ends.
        let log = try LocalLog(store: store, options: .init(backgroundLinger: 0.2))
        let endpoints = (0..<20).map { "ep_\($0)" }
        for id in endpoints {
            #expect(await log.proposeAndWait(.registry(.webhook(.create(WebhookDispatchStoreTests.endpoint(id))))).isSuccess)
        }
        let before = log.statistics
        // One dispatcher round: per endpoint a batch lease, then a per-call claim, each awaited as the dispatcher does.
        for id in endpoints {
            _ = await log.proposeAndWait(Self.batchLease(id, fresh: []))
            _ = await log.proposeAndWait(Self.callClaim(id))
        }
        let after = log.statistics
        #expect(after.lingers == before.lingers, "no lease waited for company")
        #expect(after.transactions - before.transactions == 2 * endpoints.count, "one commit per lease")
        log.stop()
    }
}
