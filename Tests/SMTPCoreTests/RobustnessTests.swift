import Testing
@testable import SMTPCore
import SendarixSupport

@Suite("State resets and robustness")
struct RobustnessTests {
    @Test("RSET between BDAT chunks discards them: the next message holds only its own bytes")
    func rsetClearsChunks() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nBDAT 3\r\nabcRSET\r\n")
        harness.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<b@local.test>\r\nBDAT 2 LAST\r\nde")
        #expect(harness.enqueued.count == 1)
        #expect(harness.message().hasSuffix("+0000\r\nde"))
    }

    @Test("EHLO and STARTTLS in the middle of a transaction abort it")
    func greetingResets() {
        var harness = Harness(relayConfig)
        harness.input("EHLO c\r\nMAIL FROM:<a@r.test>\r\nEHLO c\r\n")
        #expect(harness.input("RCPT TO:<b@local.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
        harness.input("MAIL FROM:<a@r.test>\r\nSTARTTLS\r\n")
        harness.finishTLS()
        harness.input("EHLO c\r\n")
        #expect(harness.input("RCPT TO:<b@local.test>\r\n") == "503 5.5.1 Error: need MAIL command\r\n")
    }

    @Test("bytes received before start() are answered after the greeting, in order")
    func earlyInput() {
        let ids = QueueIDSource()
        var session = SMTPSession(configuration: relayConfig, context: .init(clientAddress: "192.0.2.1"),
                                  environment: .init(now: { fixedDate }, makeQueueID: { ids.next() }))
        #expect(session.receive(Array("NOOP\r\n".utf8)[...]).isEmpty)
        let actions = session.start()
        let sent = actions.compactMap { if case .send(let bytes) = $0 { String(decoding: bytes, as: UTF8.self) } else { nil } }
        #expect(sent == ["220 mx.test ESMTP Sendarix\r\n250 2.0.0 OK\r\n"])
    }

    @Test("random bytes and random completions never break the action invariants")
    func fuzz() {
        var rng = SplitMix64(seed: 7)
        let fragments = ["EHLO x\r\n", "MAIL FROM:<a@b.test>\r\n", "RCPT TO:<c@local.test>\r\n", "DATA\r\n", "BDAT 4\r\n",
                         "BDAT 2 LAST\r\n", ".\r\n", "\r\n", "\n", "\r", "AUTH PLAIN\r\n", "STARTTLS\r\n", "RSET\r\n",
                         "abcd", "\u{0}\u{FF}", "QUIT\r\n", "AUTH LOGIN\r\n", "*\r\n"]
        for round in 0..<300 {
            var harness = Harness(.init(hostname: "mx.test", portKind: .relay, maxErrors: 1000, localDomains: ["local.test"]))
            for _ in 0..<40 {
                if harness.closed { break }
                var bytes: [UInt8] = []
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes += Array(fragments[Int.random(in: 0..<fragments.count, using: &rng)].utf8)
                }
                harness.input(bytes)
                // Answer whatever the session waits for, as the shell would, until it waits for input again.
                while true {
                    let outstanding = harness.lastActions.filter {
                        switch $0 {
                        case .enqueue, .authenticate, .startTLS: true
                        default: false
                        }
                    }
                    #expect(outstanding.count <= 1, "round \(round)")
                    switch outstanding.first {
                    case .enqueue?: harness.completeEnqueue(.queued("X"))
                    case .authenticate?: harness.completeAuth(.failure)
                    case .startTLS?: harness.finishTLS()
                    default: break
                    }
                    if outstanding.isEmpty { break }
                }
            }
            // Every reply line is well-formed: three digits and a separator.
            for line in harness.transcript.split(separator: "\r\n") {
                #expect(line.count >= 4 && line.prefix(3).allSatisfy(\.isNumber), "round \(round): \(line)")
            }
        }
    }
}
