import Foundation
import Testing
@testable import Registry

/// Webhook leases and results go through the log as binary records; the JSON form of older
/// builds' log entries still decodes; every other command stays JSON.
@Suite("Webhook command log records")
struct WebhookCommandCodecTests {
    static let attempt = WebhookCall.Attempt(attempt: 3, at: 1_700_000_002_000, status: 503, latencyMillis: -1,
                                             response: "busy é \u{0}", node: "n2")

    static let claim = WebhookCommand.claim(.init(endpoint: "ep_1", sequences: [1, (77 << 16) | 3, .max], owner: "n2",
                                                  incarnation: .max - 1, issuedAt: -5, expiresAt: 1_700_000_030_000))

    static let results = WebhookCommand.results(.init(endpoint: "ep_1", owner: "n1", incarnation: 9, results: [
        .init(sequence: 1, attempt: attempt, verdict: .delivered),
        .init(sequence: 2, attempt: attempt, verdict: .retry(at: 1_700_000_300_000)),
        .init(sequence: 3, attempt: attempt, verdict: .gone),
        .init(sequence: 4, attempt: WebhookCall.Attempt(attempt: 1, at: 0, status: 0, latencyMillis: 0, response: "", node: ""),
              verdict: .exhausted),
    ]))

    @Test("Claims and results with every verdict survive their binary record, through RegistryCommand too")
    func binaryRoundTrip() throws {
        for command in [Self.claim, Self.results,
                        .claim(.init(endpoint: "e", sequences: [], owner: "", incarnation: 0, issuedAt: 0, expiresAt: 1)),
                        .results(.init(endpoint: "e", owner: "o", incarnation: 1, results: []))] {
            let bytes = RegistryCommand.webhook(command).encoded(binary: true)
            #expect(bytes.first == WebhookCommand.binaryMagic)
            #expect(try RegistryCommand(decoding: bytes) == .webhook(command))
            #expect(bytes == RegistryCommand.webhook(command).encoded(binary: true), "deterministic bytes")
            #expect(bytes.count < RegistryCommand.webhook(command).encoded().count, "smaller than JSON")
        }
    }

    @Test("A claim or results command logged as JSON by an older build still decodes; other commands stay JSON")
    func legacyJSON() throws {
        for command in [Self.claim, Self.results] {
            let json = RegistryCommand.webhook(command).encoded()
            #expect(json.first == UInt8(ascii: "{"))
            #expect(try RegistryCommand(decoding: json) == .webhook(command))
            #expect(RegistryCommand.webhook(command).encoded(binary: false) == json)
        }
        let others: [RegistryCommand] = [.webhook(.delete(id: "ep_1", at: 5)), .webhook(.replay(endpoint: "ep_1", sequences: [1], at: 2)),
                                         .removeDomain(name: "example.com", at: 1)]
        for command in others {
            #expect(!command.hasBinaryForm)
            #expect(command.encoded(binary: true).first == UInt8(ascii: "{"))
            #expect(try RegistryCommand(decoding: command.encoded(binary: true)) == command)
        }
        #expect(RegistryCommand.webhook(Self.claim).hasBinaryForm && RegistryCommand.webhook(Self.results).hasBinaryForm)
    }

    @Test("Truncated, padded, unknown-kind, unknown-verdict and wrong-version records are refused")
    func malformed() throws {
        let bytes = try #require(Self.results.binaryEncoded())
        for cut in [1, 2, 3, 10, bytes.count / 2, bytes.count - 1] {
            #expect(throws: WebhookCallDecodingError.self) { try WebhookCommand(binary: bytes.prefix(cut)) }
        }
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCommand(binary: bytes + [0]) }
        var kind = bytes
        kind[2] = 9
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCommand(binary: kind) }
        var version = bytes
        version[1] = 2
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCommand(binary: version) }
        var verdict = try #require(WebhookCommand.results(.init(endpoint: "e", owner: "o", incarnation: 1, results: [
            .init(sequence: 1, attempt: Self.attempt, verdict: .delivered)])).binaryEncoded())
        verdict[verdict.count - 1] = 7
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCommand(binary: verdict) }
        // A count larger than the bytes left is refused before anything is allocated.
        var count = try #require(Self.claim.binaryEncoded())
        count.replaceSubrange(11..<15, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: WebhookCallDecodingError.self) { try WebhookCommand(binary: count) }
    }
}
