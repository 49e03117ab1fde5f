import DNSCore
import Foundation
import Synchronization
import Testing
@testable import DNSService

/// Against a nameserver that answers FORMERR (without OPT) to every EDNS query, as pre-EDNS servers and
/// some middleboxes do: the resolver retries the same server without EDNS and gets the answer.
@Suite("Stub resolver: nameservers without EDNS")
struct DNSResolverEDNSFallbackTests {
    @Test("FORMERR to an EDNS query is followed at once by the same query without EDNS, which is answered")
    func fallsBackWithoutEDNS() throws {
        let withEDNS = Mutex(0), without = Mutex(0)
        let legacy = try FakeDNSServer { query, _ in
            if query.edns != nil {
                withEDNS.withLock { $0 += 1 }
                return DNSMessage(id: 0, rcode: .formatError)
            }
            without.withLock { $0 += 1 }
            return DNSMessage(id: 0, answers: [DNSRecord(name: query.questions[0].name, ttl: 300,
                                                         data: .mx(preference: 10, exchange: name("mx.legacy.test")))])
        }
        defer { legacy.stop() }
        let resolver = try DNSResolver(nameservers: [legacy.address], timeout: 5, attempts: 1)
        #expect(resolver.resolveMX("legacy.test") == .mxTargets([MXTarget(host: "mx.legacy.test", preference: 10)]))
        #expect(withEDNS.withLock { $0 } == 1)
        #expect(without.withLock { $0 } == 1)
    }

    @Test("a server that also answers FORMERR without EDNS is a temporary failure, not an endless retry")
    func formerrBothWays() throws {
        let broken = try FakeDNSServer { _, _ in DNSMessage(id: 0, rcode: .formatError) }
        defer { broken.stop() }
        let resolver = try DNSResolver(nameservers: [broken.address], timeout: 5, attempts: 1)
        guard case .temporaryFailure(let reason) = resolver.resolveMX("broken.test") else {
            Issue.record("expected a temporary failure"); return
        }
        #expect(reason.contains("FORMERR"), "\(reason)")
        #expect(broken.questionCount == 2)
    }
}
