import Testing
@testable import DNSCore

/// RFC 6891 §7: a server that does not speak EDNS answers FORMERR or NOTIMP without an OPT record;
/// the resolver must recognise that and ask again without EDNS.
@Suite("Resolver core: servers without EDNS")
struct DNSResolverEDNSTests {
    static let question = DNSMessage.Question(name: name("example.com"), type: .mx)

    static func reply(_ rcode: DNSMessage.RCode, questions: [DNSMessage.Question] = [question],
                      edns: DNSMessage.EDNS? = nil) -> DNSMessage {
        DNSMessage(id: 1, isResponse: true, rcode: rcode, questions: questions, edns: edns)
    }

    @Test("FORMERR or NOTIMP without OPT, with or without the question echoed, means EDNS was rejected")
    func rejected() {
        for rcode in [DNSMessage.RCode.formatError, .notImplemented] {
            for questions in [[Self.question], []] {
                guard case .ednsRejected = DNSResolverCore.classify(Self.reply(rcode, questions: questions), question: Self.question) else {
                    Issue.record("\(rcode) with \(questions.count) questions should be ednsRejected"); continue
                }
            }
        }
    }

    @Test("FORMERR with an OPT record, SERVFAIL, and FORMERR for another question stay ordinary failures")
    func ordinaryFailures() {
        let cases = [Self.reply(.formatError, edns: DNSMessage.EDNS(udpPayloadSize: 1232)),
                     Self.reply(.serverFailure),
                     Self.reply(.formatError, questions: [DNSMessage.Question(name: name("other.test"), type: .mx)])]
        for response in cases {
            guard case .failure = DNSResolverCore.classify(response, question: Self.question) else {
                Issue.record("\(response.rcode) should be a plain failure"); continue
            }
        }
    }

    @Test("a query built without a payload size carries no OPT record")
    func queryWithoutEDNS() throws {
        let m = try DNSMessage(decoding: DNSResolverCore.makeQuery(id: 9, question: Self.question, udpPayloadSize: nil))
        #expect(m.edns == nil)
        #expect(m.questions == [Self.question] && m.recursionDesired)
    }
}
