import Testing
@testable import SpoolStore

/// A delivery attempt reads its message's record and body with `messageAndBody(id:)` (one
/// transaction, one decode) instead of `message(id:)` then `messageBody(id:)`: the answers must be
/// the same, and a change to the message must show in the next read.
@Suite("Message and body in one read")
struct MessageAndBodyTests {
    @Test("Scenario: bodies of 0 bytes to several segments, one to three recipients; same record and body as the two reads")
    func sameAsTwoReads() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        defer { log.stop() }
        let sizes = [0, 1, 4079, 4080, 4081, 70_000, 300_000]
        for (i, size) in sizes.enumerated() {
            let recipients = (0...(i % 3)).map { "r\($0)+\(i)@example.org" }
            _ = try await log.proposeAndWait(makeEnqueue("M\(i)", recipients: recipients, at: 1_700_000_000_000 + Int64(i),
                                                         body: testBody(size: size, seed: UInt64(i) + 3))).get()
        }
        for i in sizes.indices {
            let both = try #require(try store.messageAndBody(id: "M\(i)"))
            #expect(both.message == (try store.message(id: "M\(i)")))
            #expect(both.body == (try store.messageBody(id: "M\(i)")))
            #expect(both.body == testBody(size: sizes[i], seed: UInt64(i) + 3))
        }
        #expect(try store.messageAndBody(id: "NOPE") == nil)
        #expect(try store.messageAndBody(id: "") == nil)
        #expect(try store.messageAndBody(id: "../x") == nil)
    }

    @Test("Scenario: a claim then a delete between two reads; each read sees the change at once")
    func changesAreSeenAtOnce() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        defer { log.stop() }
        _ = try await log.proposeAndWait(makeEnqueue("C1", body: testBody(size: 5_120, seed: 5))).get()
        #expect(try store.messageAndBody(id: "C1")?.message.lease == nil)
        let claim = SpoolCommand.Claim(queueID: "C1", owner: "n1", attempt: 1, issuedAt: 1_700_000_000_000,
                                       expiresAt: 1_700_000_060_000, incarnation: 7)
        _ = try await log.proposeAndWait(.claim(claim)).get()
        let claimed = try #require(try store.messageAndBody(id: "C1"))
        #expect(claimed.message.lease?.owner == "n1")
        #expect(claimed.message == (try store.message(id: "C1")))
        _ = try await log.proposeAndWait(.delete(.init(queueID: "C1", reason: "test", timestamp: 1))).get()
        #expect(try store.messageAndBody(id: "C1") == nil)
    }
}
