import Registry
import Testing
@testable import SpoolStore

/// Webhook leases and results are written in their binary form (format version 3) only when the
/// cluster reads version 3; below it they stay JSON in a version-1 entry, and a leader's
/// downgrade re-encodes them so.
@Suite("Webhook commands in log entries")
struct WebhookCommandFormatTests {
    static let claim = SpoolCommand.registry(.webhook(.claim(.init(endpoint: "ep_1", sequences: [1, 2], owner: "n1",
                                                                   incarnation: 4, issuedAt: 10, expiresAt: 20))))
    static let results = SpoolCommand.registry(.webhook(.results(.init(endpoint: "ep_1", owner: "n1", incarnation: 4, results: [
        .init(sequence: 1, attempt: WebhookCall.Attempt(attempt: 1, at: 11, status: 200, latencyMillis: 3, response: "ok", node: "n1"),
              verdict: .delivered)]))))

    @Test("At format 3 a claim or results entry is version 3 with a binary record; at format 2 it is version 1 with JSON; both decode")
    func versions() throws {
        #expect(SpoolCommand.formatVersion >= 3)
        for command in [Self.claim, Self.results] {
            let new = command.encoded(format: 3)
            #expect(new[0] == 3)
            #expect(new[6] == WebhookCommand.binaryMagic, "tag, blob length, then the record")
            #expect(try SpoolCommand(decoding: new) == command)
            let old = command.encoded(format: 2)
            #expect(old[0] == 1)
            #expect(old[6] == UInt8(ascii: "{"))
            #expect(try SpoolCommand(decoding: old) == command)
            #expect(SpoolCommand.downgraded(new, to: 2) == old)
            #expect(SpoolCommand.downgraded(old, to: 2) == nil)
        }
        let delete = SpoolCommand.registry(.webhook(.delete(id: "ep_1", at: 1)))
        #expect(delete.encoded(format: 3)[0] == 1, "endpoint edits stay JSON, readable by every version")
    }
}

extension WebhookCommandFormatTests {
    static let batchedClaim = SpoolCommand.registry(.webhook(.claim(.init(endpoint: "ep_1", sequences: [1, 2], owner: "n1",
                                                                          incarnation: 4, issuedAt: 10, expiresAt: 20,
                                                                          batches: [2]))))

    @Test("A claim with batches is a version-4 entry; for a format-3 cluster it is re-encoded as a plain claim, batches dropped")
    func batchedClaimVersions() throws {
        #expect(SpoolCommand.formatVersion >= 4)
        let new = Self.batchedClaim.encoded(format: 4)
        #expect(new[0] == 4)
        #expect(try SpoolCommand(decoding: new) == Self.batchedClaim)
        let old = try #require(SpoolCommand.downgraded(new, to: 3))
        #expect(old == Self.claim.encoded(format: 3))
        #expect(Self.batchedClaim.encoded(format: 2) == Self.claim.encoded(format: 2))
        #expect(Self.claim.encoded(format: 4) == Self.claim.encoded(format: 3), "a claim without batches stays version 3")
    }
}
