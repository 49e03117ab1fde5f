import Foundation
import Testing

/// Sustained load from Postfix's `smtp-source` against the real binary.
@Suite("Sustained load", .serialized)
struct LoadTests {
    @Test("smtp-source → Sendarix → smtp-sink: 20,000 messages acknowledged, all delivered, the node stays up")
    func smtpSourceLoad() throws {
        // Regression: a wake-up hook stored as a closure in a Mutex grew by one thunk per message and
        // overflowed the stack after ~16,000 messages.
        let sink = try SinkProcess(dump: false)
        defer { sink.stop() }
        let relay = try RelayProcess(overlay: [
            "policy": ["trustedNetworks": ["127.0.0.0/8"], "maxConnectionsPerIP": 100],
            "routes": [["domain": "local.test", "hosts": ["127.0.0.1:\(sink.port)"], "tls": "none"]],
            "delivery": ["enabled": true],
        ])
        defer { relay.cleanUp() }
        let out = try run("/usr/sbin/smtp-source", ["-s", "20", "-l", "1024", "-m", "20000", "-c", "-f", "load@remote.test",
                                                    "-t", "sink@local.test", "127.0.0.1:\(relay.port("relay"))"],
                          timeout: 600)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(relay.process.isRunning, "the node died: \(relay.log().suffix(2000))")
        // Everything acknowledged leaves the queue for the sink.
        var queued = -1
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            queued = (try relay.adminJSON("/health"))["queue"] as? Int ?? -1
            if queued == 0 { break }
            usleep(200_000)
        }
        #expect(queued == 0, "still queued: \(queued)")
        #expect(try relay.events("type=delivered&limit=10").count == 10)
    }
}
