import Foundation
import Testing

/// Sustained load from Postfix's `smtp-source` against the real binary.
@Suite("Sustained load", .serialized)
struct LoadTests {
    @Test("smtp-source: 20 sessions × 20,000 messages are all acknowledged and queued; the node stays up")
    func smtpSourceLoad() throws {
        // Regression: a wake-up hook stored as a closure in a Mutex grew by one thunk per message and
        // overflowed the stack after ~16,000 messages.
        let relay = try RelayProcess(overlay: ["policy": ["trustedNetworks": ["127.0.0.0/8"], "maxConnectionsPerIP": 100]])
        defer { relay.cleanUp() }
        let out = try run("/usr/sbin/smtp-source", ["-s", "20", "-l", "1024", "-m", "20000", "-c", "-f", "load@remote.test",
                                                    "-t", "sink@local.test", "127.0.0.1:\(relay.port("relay"))"],
                          timeout: 600)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(relay.process.isRunning, "the node died: \(relay.log().suffix(2000))")
        let health = try relay.adminJSON("/health")
        #expect(health["queue"] as? Int == 20000)
    }
}
