import Foundation
import Testing
@testable import Registry

/// Outbox calls are stored as binary records; JSON records written by older builds still read.
@Suite("Webhook call records")
struct WebhookCallCodecTests {
    static func call() -> WebhookCall {
        var c = WebhookCall(endpoint: "ep_1", sequence: (77 << 16) | 3, webhookID: "msg_77_3", eventType: "delivered",
                            createdAt: 1_700_000_000_123, payload: "")
        c.eventRecord = [1, 0, 0, 0, 3, 0x41, 0x42, 0x43, 0xFF, 0]
        c.attempts = 2
        c.nextAttemptAt = 1_700_000_005_000
        c.lease = WebhookCall.Lease(owner: "n2", incarnation: .max - 5, attempt: 3, expiresAt: 1_700_000_030_000)
        c.history = [WebhookCall.Attempt(attempt: 1, at: 1_700_000_001_000, status: 503, latencyMillis: 12, response: "busy é", node: "n1"),
                     WebhookCall.Attempt(attempt: 2, at: 1_700_000_002_000, status: 0, latencyMillis: -1, response: "", node: "n2")]
        return c
    }

    @Test("A call with lease, history and event record survives its binary record, through RegistryRecord too")
    func binaryRoundTrip() throws {
        let c = Self.call()
        let bytes = RegistryRecord.webhookCall(c).encoded()
        #expect(bytes.first == WebhookCall.binaryMagic)
        #expect(try RegistryRecord(decoding: bytes) == .webhookCall(c))
        var plain = WebhookCall(endpoint: "e", sequence: 1, webhookID: "msg_0_1", eventType: "accepted", createdAt: 5,
                                payload: "{\"id\":\"0-1\"}")
        plain.status = .failed
        #expect(try WebhookCall(binary: plain.binaryEncoded()) == plain)
        #expect(plain.binaryEncoded() == plain.binaryEncoded(), "deterministic bytes")
    }

    @Test("A JSON call record of an older build still decodes; truncated or unknown binary records are refused")
    func legacyAndMalformed() throws {
        let c = Self.call()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var legacy = c
        legacy.eventRecord = nil
        legacy.payload = "{\"id\":\"77-3\",\"sequence\":5046275}"
        let json = Array(try encoder.encode(RegistryRecord.webhookCall(legacy)))
        #expect(json.first == UInt8(ascii: "{"))
        #expect(try RegistryRecord(decoding: json).webhookCall == legacy)

        let bytes = c.binaryEncoded()
        for cut in [1, 2, 10, bytes.count / 2, bytes.count - 1] {
            #expect(throws: WebhookCallDecodingError.self) { try WebhookCall(binary: bytes.prefix(cut)) }
        }
        var wrongVersion = bytes
        wrongVersion[1] = 9
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCall(binary: wrongVersion) }
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCall(binary: bytes + [0]) }
    }

    @Test("A record read in place (the store's bytes, not an array) decodes as its array does, with and without batch; truncated, longer or foreign bytes are refused the same way")
    func inPlaceAsArray() throws {
        var withBatch = Self.call()
        withBatch.batch = WebhookCall.Batch(id: "batch_77_3_2_00000000000000ab", size: 2)
        var old = WebhookCall(endpoint: "e", sequence: 1, webhookID: "msg_0_1", eventType: "accepted", createdAt: 5,
                              payload: "{\"id\":\"0-1\"}")
        old.status = .delivered
        for c in [Self.call(), withBatch, old] {
            let bytes = c.binaryEncoded()
            #expect(try bytes.withUnsafeBytes { try WebhookCall(binary: $0) } == c)
            #expect(try bytes.withUnsafeBytes { try RegistryRecord(decoding: $0) } == .webhookCall(c))
            for cut in [0, 1, 2, 10, bytes.count / 2, bytes.count - 1] {
                #expect(throws: WebhookCallDecodingError.self) {
                    try Array(bytes.prefix(cut)).withUnsafeBytes { try WebhookCall(binary: $0) }
                }
            }
            #expect(throws: WebhookCallDecodingError.self) { try (bytes + [0]).withUnsafeBytes { try WebhookCall(binary: $0) } }
            // A slice of a larger buffer (indices not starting at 0 in the parent) reads the same.
            let padded = [0xEE, 0xEE] + bytes
            #expect(try padded.withUnsafeBytes { try WebhookCall(binary: UnsafeRawBufferPointer(rebasing: $0[2...])) } == c)
        }
    }

    @Test("The status read by skipping fields (the tally's) equals the decoded one for every status, with or without event record, history and batch; foreign or truncated records give nil")
    func statusWithoutDecoding() throws {
        var withBatch = Self.call()
        withBatch.batch = WebhookCall.Batch(id: "batch_77_3_2_00000000000000ab", size: 2)
        var bare = WebhookCall(endpoint: "e", sequence: 1, webhookID: "msg_0_1", eventType: "accepted", createdAt: 5,
                               payload: "{\"id\":\"0-1\"}")
        bare.history = []
        for base in [Self.call(), withBatch, bare] {
            for status in [WebhookCall.Status.pending, .delivered, .failed] {
                var c = base
                c.status = status
                let bytes = c.binaryEncoded()
                let read = bytes.withUnsafeBytes { WebhookCall.binaryStatus($0) }
                #expect(read == status, "\(c.webhookID) \(status), batch \(c.batch != nil)")
                #expect(read == (try WebhookCall(binary: bytes)).status)
            }
        }
        // The event record holds the byte values of every status: only the status field counts.
        var tricky = Self.call()
        tricky.eventRecord = [2, 2, 2, 1, 0]
        tricky.status = .delivered
        #expect(tricky.binaryEncoded().withUnsafeBytes { WebhookCall.binaryStatus($0) } == .delivered)
        let bytes = Self.call().binaryEncoded()
        for cut in [0, 1, 2, 10, 30] {
            #expect(Array(bytes.prefix(cut)).withUnsafeBytes { WebhookCall.binaryStatus($0) } == nil, "cut at \(cut)")
        }
        #expect(Array("{\"status\":\"failed\"}".utf8).withUnsafeBytes { WebhookCall.binaryStatus($0) } == nil, "JSON is not binary")
    }
}

/// Endpoint records are stored as binary records too; JSON records of older builds still read.
@Suite("Webhook endpoint records")
struct WebhookEndpointCodecTests {
    static func endpoint() -> WebhookEndpoint {
        var e = WebhookEndpoint(id: "ep_1", tenant: "*", url: "https://h.example/hook?x=é", events: ["accepted", "delivered"],
                                secret: "whsec_" + String(repeating: "A", count: 43) + "=", maxConcurrency: 16, ratePerSecond: 250,
                                createdAt: 1_700_000_000_000)
        e.secrets.append(.init(value: "whsec_old", expiresAt: 1_700_000_100_000))
        e.paused = true
        e.failing = true
        e.statusReason = "call msg_1_0 failed after 9 attempts: 503"
        e.updatedAt = 1_700_000_050_000
        e.consecutiveFailures = 9
        e.lastFailureAt = -1
        return e
    }

    @Test("An endpoint with several secrets, flags and optional times survives its binary record, through RegistryRecord too")
    func binaryRoundTrip() throws {
        let e = Self.endpoint()
        let bytes = RegistryRecord.webhookEndpoint(e).encoded()
        #expect(bytes.first == WebhookEndpoint.binaryMagic)
        #expect(try RegistryRecord(decoding: bytes) == .webhookEndpoint(e))
        var plain = WebhookEndpoint(id: "e", tenant: "t", url: "http://x/", secret: "whsec_x", createdAt: 0)
        plain.disabled = true
        plain.lastSuccessAt = 5
        #expect(try WebhookEndpoint(binary: plain.binaryEncoded()) == plain)
        #expect(plain.binaryEncoded() == plain.binaryEncoded(), "deterministic bytes")
    }

    @Test("A JSON endpoint record of an older build still decodes; truncated, padded or bad-flag records are refused")
    func legacyAndMalformed() throws {
        let e = Self.endpoint()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = Array(try encoder.encode(RegistryRecord.webhookEndpoint(e)))
        #expect(json.first == UInt8(ascii: "{"))
        #expect(try RegistryRecord(decoding: json).webhookEndpoint == e)

        let bytes = e.binaryEncoded()
        for cut in [1, 2, 10, bytes.count / 2, bytes.count - 1] {
            #expect(throws: WebhookCallDecodingError.self) { try WebhookEndpoint(binary: bytes.prefix(cut)) }
        }
        #expect(throws: WebhookCallDecodingError.self) { try WebhookEndpoint(binary: bytes + [0]) }
        var version = bytes
        version[1] = 2
        #expect(throws: WebhookCallDecodingError.self) { try WebhookEndpoint(binary: version) }
        var flags = WebhookEndpoint(id: "e", tenant: "t", url: "u", secret: "s", createdAt: 0).binaryEncoded()
        // id, tenant, url (4+1 each), no events, one secret (4+1, absent expiry), two i64: then the flags.
        let at = 2 + 5 + 5 + 5 + 4 + 4 + 5 + 1 + 16
        #expect(flags[at] == 0)
        flags[at] = 8
        #expect(throws: WebhookCallDecodingError.self) { try WebhookEndpoint(binary: flags) }
    }
}
