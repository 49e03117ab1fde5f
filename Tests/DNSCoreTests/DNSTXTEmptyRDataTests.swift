import Testing
@testable import DNSCore

/// Regression for a FuzzDNS finding (input: Tests/FuzzCorpus/FuzzDNS/regressions/txt-empty-rdata): a TXT
/// record with empty RDATA decoded to zero strings, which the encoder writes as one empty string, so the
/// message changed in an encode/decode round trip.
@Suite("DNS TXT with empty RDATA")
struct DNSTXTEmptyRDataTests {
    /// A response with one TXT answer whose RDLENGTH is 0.
    static let wire: [UInt8] = [
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
        2, 0x6D, 0x78, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 16, 0, 1, // mx.test TXT IN
        0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 60, 0, 0,                 // answer: TXT, TTL 60, RDLENGTH 0
    ]

    @Test("a TXT record with empty RDATA reads as one empty string")
    func emptyRDataIsOneEmptyString() throws {
        let message = try DNSMessage(decoding: Self.wire)
        #expect(message.answers.map(\.data) == [.txt([[]])])
    }

    @Test("a message with an empty-RDATA TXT record survives encode then decode unchanged")
    func emptyRDataRoundTrips() throws {
        let message = try DNSMessage(decoding: Self.wire)
        #expect(try DNSMessage(decoding: message.encoded()) == message)
    }
}
