import Testing
@testable import SMTPCore

/// The process-wide body budget: sessions hold memory for the bodies they receive, a body that does
/// not fit is refused with a temporary 452 4.3.1 after its end, and every path gives the memory back.
@Suite("Body memory budget")
struct BodyBudgetTests {
    static let line = String(repeating: "b", count: 78) + "\r\n" // 80 octets
    /// `kib` KiB of body lines (not terminated).
    static func body(kib: Int) -> String { String(repeating: line, count: kib * 1024 / 80) }

    @Test("reserve and release are exact; a reservation that does not fit takes nothing")
    func budgetArithmetic() {
        let budget = BodyMemoryBudget(limit: 100)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(41))
        #expect(budget.inUse == 60)
        #expect(budget.reserve(40))
        #expect(!budget.reserve(1))
        budget.release(100)
        #expect(budget.inUse == 0)
        #expect(budget.reserve(0))
    }

    @Test("while one session holds most of the budget, another's DATA body gets 452 4.3.1 at its end; after the first is queued the second is accepted")
    func dataRefusedThenAccepted() {
        let budget = BodyMemoryBudget(limit: 256 * 1024)
        var first = Harness(relayConfig, budget: budget)
        var second = Harness(relayConfig, budget: budget)
        first.input("EHLO a\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<u@local.test>\r\nDATA\r\n")
        first.input(Self.body(kib: 200)) // still receiving: holds its share
        #expect(budget.inUse >= 200 * 1024)

        second.input("EHLO b\r\nMAIL FROM:<b@r.test>\r\nRCPT TO:<u@local.test>\r\nDATA\r\n")
        #expect(second.input(Self.body(kib: 100)) == "")
        let refused = second.input(".\r\n")
        #expect(refused == "452 4.3.1 Insufficient system resources, try again later\r\n")
        #expect(second.enqueued.isEmpty)
        #expect(second.session.messageBody.isEmpty)

        first.input(".\r\n")
        #expect(first.enqueued.count == 1)
        #expect(budget.inUse >= 200 * 1024, "held until the enqueue is durable")
        #expect(first.completeEnqueue(.queued("Q1")).hasPrefix("250 2.0.0"))
        #expect(budget.inUse == 0)

        second.input("MAIL FROM:<b@r.test>\r\nRCPT TO:<u@local.test>\r\nDATA\r\n")
        second.input(Self.body(kib: 100) + ".\r\n")
        #expect(second.enqueued.count == 1)
        #expect(second.enqueued.first?.message.count ?? 0 >= 100 * 1024 - 80)
        second.completeEnqueue(.queued("Q2"))
        #expect(budget.inUse == 0)
    }

    @Test("a BDAT chunk that does not fit is refused with 452 4.3.1, its bytes are consumed, and the transaction is reset")
    func bdatRefused() {
        let budget = BodyMemoryBudget(limit: 64 * 1024)
        var harness = Harness(relayConfig, budget: budget)
        harness.input("EHLO a\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<u@local.test>\r\n")
        let chunk = String(repeating: "x", count: 70_000)
        let sent = harness.input("BDAT 70000 LAST\r\n" + chunk + "NOOP\r\n")
        #expect(sent == "452 4.3.1 Insufficient system resources, try again later\r\n250 2.0.0 OK\r\n")
        #expect(harness.enqueued.isEmpty)
        #expect(budget.inUse == 0)
        #expect(harness.input("BDAT 1 LAST\r\nx") == "503 5.5.1 Error: need MAIL command\r\n")
        harness.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<u@local.test>\r\n")
        harness.input("BDAT 1000 LAST\r\n" + String(repeating: "y", count: 998) + "\r\n")
        #expect(harness.enqueued.count == 1)
    }

    @Test("announcing a huge BDAT chunk takes no budget: memory is taken only as its bytes arrive")
    func bdatAnnouncementIsFree() {
        let budget = BodyMemoryBudget(limit: 1 << 20)
        var idle = Harness(relayConfig, budget: budget)
        idle.input("EHLO a\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<u@local.test>\r\nBDAT 50000000 LAST\r\nx")
        #expect(budget.inUse == 64 * 1024, "one step for the one byte that arrived")
        var other = Harness(relayConfig, budget: budget)
        other.input("EHLO b\r\nMAIL FROM:<b@r.test>\r\nRCPT TO:<u@local.test>\r\n")
        other.input("BDAT 409600 LAST\r\n" + Self.body(kib: 400))
        #expect(other.enqueued.count == 1, "\(other.transcript)")
        idle.session.connectionClosed()
        other.completeEnqueue(.queued("Q1"))
        #expect(budget.inUse == 0)
    }

    @Test("RSET, a rejected message, and a connection that drops mid-body all give the memory back")
    func releasedOnEveryPath() {
        let budget = BodyMemoryBudget(limit: 1 << 20)
        var harness = Harness(relayConfig, budget: budget)
        harness.input("EHLO a\r\nMAIL FROM:<a@r.test>\r\nRCPT TO:<u@local.test>\r\nDATA\r\n")
        harness.input(Self.body(kib: 100))
        #expect(budget.inUse > 0)
        harness.input("bare\nlf\r\n.\r\n") // rejected for the bare LF
        #expect(harness.transcript.hasSuffix("550 5.6.0 Message contains bare CR or LF characters; lines must end in CRLF\r\n"))
        #expect(budget.inUse == 0)

        harness.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<u@local.test>\r\nBDAT 5000\r\n" + String(repeating: "z", count: 5000))
        #expect(budget.inUse > 0)
        harness.input("RSET\r\n")
        #expect(budget.inUse == 0)

        harness.input("MAIL FROM:<a@r.test>\r\nRCPT TO:<u@local.test>\r\nDATA\r\n" + Self.body(kib: 300))
        #expect(budget.inUse >= 300 * 1024)
        harness.session.connectionClosed()
        #expect(budget.inUse == 0)
        #expect(harness.session.isClosed)
    }
}
