import SendarixSupport
import Testing
import TestSupport
@testable import RelayNode

/// The request bytes of a webhook POST (head, Standard Webhooks headers, signature, body) must not
/// change when the code that writes them gets faster: the expectation below is a digest of the
/// bytes the issue-10 code wrote over seeded random requests, captured before it was replaced.
@Suite("Webhook request bytes stay the same")
struct WebhookRequestGoldenTests {
    static let urls = ["http://127.104.0.1:8080/hook", "https://hooks.example.test/a/b?x=1&y=%2F", "http://[::1]:9000?q",
                       "https://h.example.test:443/", "http://h.example.test:80", "HTTPS://Upper.Example.Test/Path",
                       "http://h.example.test/é/😀"]
    static let secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" + String(repeating: "QUJD", count: 8),
                          "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_"]

    @Test("Signed requests for 600 seeded random targets, ids, timestamps, secret lists (none, one, rotated, invalid) and bodies (empty to 40 KB, any bytes) are the bytes the issue-10 code wrote")
    func sameBytesAsBefore() throws {
        var rng = SplitMix64(seed: 0x5EED_0011)
        var digest = ByteDigest()
        for i in 0..<600 {
            let target = try #require(WebhookTarget(url: Self.urls[i % Self.urls.count]))
            let id = i % 7 == 0 ? "" : "msg_\(rng.next() % 1_000_000)_\(i)" + (i % 5 == 0 ? "é" : "")
            let timestamp = [0, 1_764_979_200, Int64(rng.next() % 4_000_000_000), -5][i % 4]
            var secrets: [String] = []
            for _ in 0..<Int(rng.next() % 3) { secrets.append(Self.secrets[Int(rng.next() % UInt64(Self.secrets.count))]) }
            let size = [0, 1, 17, 512, 4096, 40_000][Int(rng.next() % 6)]
            let body = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let signature = WebhookSigner.header(secrets: secrets, id: id, timestamp: timestamp, body: body)
            digest.add(WebhookHTTPCall.request(target: target, webhookID: id, timestamp: timestamp, signature: signature,
                                               body: body))
        }
        #expect((digest.value, digest.bytes) == (12_699_204_888_452_173_794, 4_582_674))
    }
}
