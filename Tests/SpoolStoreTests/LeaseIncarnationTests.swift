import Testing
@testable import SpoolStore

/// Leases carry their owner's process incarnation: a restarted node supersedes its predecessor's
/// lease with a new attempt, and the record and claim formats keep the incarnation.
@Suite("Lease incarnations")
struct LeaseIncarnationTests {
    static let t0: Int64 = 1_700_000_000_000

    func enqueued() -> StoredMessage {
        let t = SpoolMachine.apply(makeEnqueue("Q", recipients: ["a@x"], at: Self.t0), current: nil, index: 1)
        guard case .put(let m) = t.message else { fatalError("enqueue did not store") }
        return m
    }

    func apply(_ claim: SpoolCommand.Claim, _ m: StoredMessage) -> (SpoolMachine.Transition, StoredMessage) {
        let t = SpoolMachine.apply(.claim(claim), current: m, index: 2)
        if case .put(let new) = t.message { return (t, new) }
        return (t, m)
    }

    func claim(attempt: UInt32, at: Int64, incarnation: UInt64, owner: String = "n1") -> SpoolCommand.Claim {
        SpoolCommand.Claim(queueID: "Q", owner: owner, attempt: attempt, issuedAt: at, expiresAt: at + 10_000,
                           incarnation: incarnation)
    }

    @Test("the same process renews its attempt; a later incarnation may not renew it but may supersede it with the next attempt")
    func laterIncarnationSupersedes() {
        var (t, m) = apply(claim(attempt: 1, at: Self.t0, incarnation: 7), enqueued())
        #expect(t.rejection == nil)
        #expect(m.lease == StoredMessage.Lease(owner: "n1", attempt: 1, expiresAt: Self.t0 + 10_000, incarnation: 7))
        (t, m) = apply(claim(attempt: 1, at: Self.t0 + 3_000, incarnation: 7), m)
        #expect(t.rejection == nil)
        #expect(m.lease?.expiresAt == Self.t0 + 13_000)
        (t, m) = apply(claim(attempt: 1, at: Self.t0 + 4_000, incarnation: 8), m)
        #expect(t.rejection?.code == .staleAttempt)
        (t, m) = apply(claim(attempt: 2, at: Self.t0 + 4_000, incarnation: 8), m)
        #expect(t.rejection == nil)
        #expect(m.lease == StoredMessage.Lease(owner: "n1", attempt: 2, expiresAt: Self.t0 + 14_000, incarnation: 8))
        #expect(m.attempts == 2)
        // Another node still waits for the lease to end, whatever the incarnations.
        (t, m) = apply(claim(attempt: 3, at: Self.t0 + 5_000, incarnation: 1, owner: "n2"), m)
        #expect(t.rejection?.code == .leaseConflict)
        (t, m) = apply(claim(attempt: 3, at: Self.t0 + 14_000, incarnation: 1, owner: "n2"), m)
        #expect(t.rejection == nil)
        #expect(m.lease?.owner == "n2")
    }

    @Test("a renewal never shortens the committed lease")
    func renewalNeverShortens() {
        var (_, m) = apply(claim(attempt: 1, at: Self.t0, incarnation: 7), enqueued())
        let early = SpoolCommand.Claim(queueID: "Q", owner: "n1", attempt: 1, issuedAt: Self.t0 + 1, expiresAt: Self.t0 + 2,
                                       incarnation: 7)
        (_, m) = apply(early, m)
        #expect(m.lease?.expiresAt == Self.t0 + 10_000)
    }

    @Test("claims and stored leases keep the incarnation; the formats without it still decode")
    func codecs() throws {
        let c = claim(attempt: 3, at: 10, incarnation: 0xdead_beef_0000_0001)
        let bytes = SpoolCommand.claim(c).encoded()
        #expect(try SpoolCommand(decoding: bytes) == .claim(c))
        // A claim written before incarnations: the same bytes without the trailing 8.
        let old = Array(bytes.dropLast(8))
        var expected = c
        expected.incarnation = 0
        #expect(try SpoolCommand(decoding: old) == .claim(expected))

        var m = enqueued()
        m.lease = StoredMessage.Lease(owner: "n2", attempt: 2, expiresAt: 55, incarnation: 42)
        let record = m.encoded()
        let back = try record.withUnsafeBytes { try StoredMessage(decoding: $0) }
        #expect(back.lease == m.lease)
    }
}
