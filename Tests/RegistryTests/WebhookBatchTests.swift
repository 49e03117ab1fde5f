import Foundation
import Testing
@testable import Registry

/// Batches of webhook calls in the control plane: a claim with batches fixes each batch's
/// composition and `webhook-id` in the call records, so a retry or another node's takeover sends
/// the same batch; a batch is leased whole or not at all; a replay unbatches; records and log
/// commands with batches survive their binary forms.
@Suite("Webhook batches")
struct WebhookBatchTests {
    typealias Store = WebhookMachineTests.Store

    static func seq(_ index: UInt64) -> UInt64 { WebhookOutbox.sequence(index: index, ordinal: 0) }

    static func claim(_ seqs: [UInt64], batches: [UInt32]?, owner: String = "n1", at: Int64, until: Int64? = nil) -> WebhookCommand {
        .claim(.init(endpoint: "ep_1", sequences: seqs, owner: owner, incarnation: 1, issuedAt: at, expiresAt: until ?? at + 1000,
                     batches: batches))
    }

    static func outbox(_ n: UInt64) -> Store {
        var s = Store()
        _ = s.apply(.create(WebhookMachineTests.endpoint()))
        for i in 1...n { s.record(index: i, at: 0) }
        return s
    }

    @Test("A claim with batches gives each batch one stable id (a lone call keeps its own) recorded in every member")
    func claimFormsBatches() {
        var s = Self.outbox(4)
        let seqs = (1...4).map { Self.seq($0) }
        #expect(s.apply(Self.claim(seqs, batches: [3, 1], at: 10)) == nil)
        let batch = s.pending(seqs[0])?.batch
        #expect(batch?.size == 3)
        #expect(batch?.id.hasPrefix("batch_1_0_3_") == true, "\(String(describing: batch))")
        #expect(s.pending(seqs[1])?.batch == batch && s.pending(seqs[2])?.batch == batch)
        #expect(s.pending(seqs[3])?.batch == WebhookCall.Batch(id: "msg_4_0", size: 1))
        #expect(seqs.allSatisfy { s.pending($0)?.lease?.owner == "n1" })
        // The id depends on the composition, not only on the first event and the count.
        let calls = seqs.prefix(3).map { s.pending($0)! }
        #expect(WebhookOutbox.batchID(calls) == batch?.id)
        #expect(WebhookOutbox.batchID([calls[0], calls[1], s.pending(seqs[3])!]) != batch?.id)
    }

    @Test("A batch is leased whole or not at all; a retry or a takeover leases it only as it was formed")
    func wholeBatchesAndTakeover() {
        var s = Self.outbox(3)
        let seqs = (1...3).map { Self.seq($0) }
        #expect(s.apply(Self.claim([seqs[0]], batches: nil, at: 5, until: 6)) == nil)
        #expect(s.apply(Self.claim(seqs, batches: [3], at: 5)) != nil, "one member is leased: the batch is not")
        #expect(s.pending(seqs[1])?.lease == nil && s.pending(seqs[1])?.batch == nil)
        #expect(s.apply(Self.claim(seqs, batches: [3], at: 10, until: 20)) == nil)
        let id = s.pending(seqs[0])!.batch!.id
        // The owner dies; another node must take the same three calls together.
        #expect(s.apply(Self.claim([seqs[0], seqs[1]], batches: [2], owner: "n2", at: 30)) != nil, "part of a batch")
        #expect(s.apply(Self.claim([seqs[2], seqs[1], seqs[0]].reversed(), batches: [1, 2], owner: "n2", at: 30)) != nil,
                "cut differently")
        #expect(s.apply(Self.claim(seqs, batches: [3], owner: "n2", at: 30)) == nil)
        #expect(seqs.allSatisfy { s.pending($0)?.batch?.id == id && s.pending($0)?.lease?.owner == "n2" && s.pending($0)?.lease?.attempt == 1 })
        // A failed attempt keeps the batch: the retry is the same batch, attempt 2.
        let retry = WebhookCommand.Results(endpoint: "ep_1", owner: "n2", incarnation: 1, results: seqs.map {
            .init(sequence: $0, attempt: WebhookMachineTests.attempt(1, at: 40, status: 429), verdict: .retry(at: 2_000))
        })
        #expect(s.apply(.results(retry)) == nil)
        #expect(s.apply(Self.claim(seqs, batches: [3], owner: "n2", at: 1_000)) != nil, "not due before Retry-After")
        #expect(s.apply(Self.claim(seqs, batches: [3], owner: "n2", at: 2_000)) == nil)
        #expect(seqs.allSatisfy { s.pending($0)?.batch?.id == id && s.pending($0)?.lease?.attempt == 2 })
        // Delivered: every member is done, the batch kept in the record; a replay unbatches.
        let ok = WebhookCommand.Results(endpoint: "ep_1", owner: "n2", incarnation: 1, results: seqs.map {
            .init(sequence: $0, attempt: WebhookMachineTests.attempt(2, at: 2_050, status: 200), verdict: .delivered)
        })
        #expect(s.apply(.results(ok)) == nil)
        #expect(seqs.allSatisfy { s.done($0)?.status == .delivered && s.pending($0) == nil })
        #expect(s.apply(.replay(endpoint: "ep_1", sequences: [seqs[1]], at: 3_000)) == nil)
        #expect(s.pending(seqs[1])?.batch == nil && s.pending(seqs[1])?.webhookID == "msg_2_0")
    }

    @Test("A claim without batches (a cluster still on format 3) sends every call alone, also calls of a formed batch")
    func unbatchedClaimUnbatches() {
        var s = Self.outbox(2)
        let seqs = (1...2).map { Self.seq($0) }
        #expect(s.apply(Self.claim(seqs, batches: [2], at: 0, until: 10)) == nil)
        #expect(s.apply(Self.claim([seqs[1]], batches: nil, owner: "n2", at: 20)) == nil)
        #expect(s.pending(seqs[1])?.batch == nil && s.pending(seqs[1])?.lease?.owner == "n2")
        #expect(s.pending(seqs[0])?.batch?.size == 2)
    }

    @Test("Batched claims and calls with batches survive their binary records; calls without stay version 1")
    func codecs() throws {
        let claim = Self.claim([1, 2, 3], batches: [2, 1], at: -4)
        let bytes = try #require(claim.binaryEncoded())
        #expect(bytes[2] == 3, "kind 3: a claim with batches")
        #expect(try WebhookCommand(binary: bytes) == claim)
        #expect(claim.downgraded(format: 3) == Self.claim([1, 2, 3], batches: nil, at: -4))
        #expect(try #require(claim.downgraded(format: 3).binaryEncoded())[2] == 1)
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCommand(binary: bytes.dropLast()) }
        var call = WebhookCall(endpoint: "ep_1", sequence: 9, webhookID: "msg_9_0", eventType: "accepted", createdAt: 1, payload: "{}")
        #expect(call.binaryEncoded()[1] == 1)
        call.batch = .init(id: "batch_9_0_2_00ff", size: 2)
        let record = call.binaryEncoded()
        #expect(record[1] == 2)
        #expect(try WebhookCall(binary: record) == call)
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCall(binary: record.dropLast()) }
    }

    @Test("An endpoint's own batchMaxEvents survives its record (version 2 only when set); an update sets it, 0 clears it, out of range is refused")
    func endpointBatchSize() throws {
        var e = WebhookMachineTests.endpoint()
        #expect(e.binaryEncoded()[1] == 1)
        e.batchMaxEvents = 7
        let bytes = e.binaryEncoded()
        #expect(bytes[1] == 2)
        #expect(try WebhookEndpoint(binary: bytes) == e)
        #expect(throws: WebhookCallDecodingError.self) { try WebhookEndpoint(binary: bytes.dropLast()) }
        var s = Store()
        #expect(s.apply(.create(WebhookMachineTests.endpoint())) == nil)
        #expect(s.apply(.update(.init(id: "ep_1", batchMaxEvents: 25, at: 2))) == nil)
        #expect(s.endpoint?.batchMaxEvents == 25)
        #expect(s.apply(.update(.init(id: "ep_1", batchMaxEvents: 1001, at: 3))) != nil)
        #expect(s.apply(.update(.init(id: "ep_1", batchMaxEvents: 0, at: 4))) == nil)
        #expect(s.endpoint?.batchMaxEvents == nil)
    }
}
