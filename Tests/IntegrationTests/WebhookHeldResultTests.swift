import Foundation
import Testing
import Registry
import RelayConfig
import SendarixSupport
import SpoolStore
@testable import RelayNode

/// The dispatcher's lease decisions against a real spool (no HTTP): a batch whose result was
/// answered but not yet committed must not be leased and POSTed again.
@Suite("Webhook dispatcher: held batch results")
struct WebhookHeldResultTests {
    static let secret = "whsec_" + Data(repeating: 5, count: 32).base64EncodedString()

    /// A spool in a temp dir with endpoint ep_a and three events (calls), all leased in one batch
    /// record by an earlier incarnation whose lease has expired. Returns the calls' sequences.
    static func expiredBatch(now: Int64) throws -> (URL, SpoolStore, LocalLog, [UInt64]) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("held-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let endpoint = WebhookEndpoint(id: "ep_a", tenant: "acme", url: "http://127.86.0.1:9/", events: [], secret: secret,
                                       createdAt: now - 60_000)
        _ = try log.proposeBlocking(.registry(.webhook(.create(endpoint))), timeout: 10).get()
        for i in 0..<3 {
            _ = try log.proposeBlocking(.enqueue(.init(queueID: "Q\(i)", messageID: "Q\(i)@relay.test", tenant: "acme",
                                                       sender: "s@acme.test", recipients: [.init(address: "r@x.test")],
                                                       receivedAt: now - 50_000 + Int64(i),
                                                       body: Array("Subject: hi\r\n\r\nhello\r\n".utf8))), timeout: 10).get()
        }
        let seqs = try store.pendingWebhookCalls("ep_a", limit: 100).map(\.sequence)
        let lease = WebhookCommand.BatchLease(endpoint: "ep_a", owner: "n1", incarnation: 1, issuedAt: now - 40_000,
                                              expiresAt: now - 10_000, formed: [], fresh: seqs, sizes: [UInt32(seqs.count)],
                                              array: true)
        _ = try log.proposeBlocking(.registry(.webhook(.leaseBatches(lease))), timeout: 10).get()
        return (dir, store, log, seqs)
    }

    static func dispatcher(_ store: SpoolStore, _ log: LocalLog) -> WebhookDispatcher {
        WebhookDispatcher(config: RelayConfig(), store: store, log: log, nodeID: "n1", loops: [], logger: NodeLogger(),
                          preferredOwner: { _ in "n1" })
    }

    @Test("A batch result held back (its proposal refused while the cluster wrote below format 5) keeps its batch busy: the batch record, whose lease expired meanwhile, is not leased and POSTed again under the same id; without the held result it is")
    func heldResultKeepsBatchBusy() throws {
        let now = WallClock.nowMillis()
        let (dir, store, log, seqs) = try Self.expiredBatch(now: now)
        defer { log.stop(); try? FileManager.default.removeItem(at: dir) }
        #expect(seqs.count == 3)
        let record = try #require(try store.webhookBatches("ep_a").first)
        let endpoint = try #require(try store.webhookEndpoints().first)

        // This node POSTed the batch and got a 200; the result's proposal was refused by the
        // format gate and waits in the dispatcher for format 5.
        let held = Self.dispatcher(store, log)
        let attempt = WebhookCall.Attempt(attempt: 1, at: now - 30_000, status: 200, latencyMillis: 3, response: "", node: "n1")
        held.requeueBatchResults([.init(first: record.first, sequences: seqs, attempt: attempt, verdict: .delivered)],
                                 endpoint: "ep_a")
        var state = WebhookDispatcher.EndpointState()
        try held.leaseBatchRecords(endpoint, state: &state, now: now, capacity: 4, maxEvents: 100, margin: 11_000)
        #expect(state.queue.isEmpty, "the batch whose result is held is not sent again")
        #expect(try store.webhookBatches("ep_a").first?.lease?.incarnation == 1, "nor leased again")

        // The control: a dispatcher without that result leases and sends the expired batch again.
        let fresh = Self.dispatcher(store, log)
        var other = WebhookDispatcher.EndpointState()
        try fresh.leaseBatchRecords(endpoint, state: &other, now: now, capacity: 4, maxEvents: 100, margin: 11_000)
        #expect(other.queue.map(\.batchID) == [record.id])
    }
}
