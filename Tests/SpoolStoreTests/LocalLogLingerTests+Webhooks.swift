import Foundation
import Registry
import Testing
@testable import SpoolStore

extension LocalLogLingerTests {
    @Test("the webhook dispatcher's batch lease and batch results wait in the linger and commit with the next enqueue; an endpoint change does not wait")
    func webhookBookkeepingRidesWithEnqueue() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store, options: .init(backgroundLinger: 60))
        // An endpoint change is what an admin waits for: committed at once.
        async let created = log.proposeAndWait(.registry(.webhook(.create(WebhookDispatchStoreTests.endpoint("ep_a")))))
        #expect(await Self.eventually { log.statistics.transactions == 1 })
        #expect(await created.isSuccess)
        let lease = SpoolCommand.registry(.webhook(.leaseBatches(.init(
            endpoint: "ep_a", owner: "n1", incarnation: 4, issuedAt: 10, expiresAt: 20, formed: [], fresh: [1], sizes: [1],
            array: true))))
        let results = SpoolCommand.registry(.webhook(.batchResults(.init(endpoint: "ep_a", owner: "n1", incarnation: 4, results: [
            .init(first: 1, sequences: [1], attempt: .init(attempt: 1, at: 11, status: 200, latencyMillis: 3, response: "",
                                                           node: "n1"), verdict: .delivered)]))))
        async let leased = log.proposeAndWait(lease)
        async let recorded = log.proposeAndWait(results)
        #expect(await Self.eventually { log.isLingering && log.pendingCount == 2 })
        #expect(log.statistics.transactions == 1, "neither committed on its own")
        let enqueued = await log.proposeAndWait(makeEnqueue("E3"))
        #expect(enqueued.isSuccess)
        _ = await leased
        _ = await recorded
        let stats = log.statistics
        #expect(stats.transactions == 2 && stats.largestBatch == 3, "one commit for the lease, the results and the enqueue")
        log.stop()
    }
}
