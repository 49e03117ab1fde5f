import DeliveryCore
import Testing

/// `ForeignClaims` with a hand-driven clock (ms): skips until the recheck time, re-asks the
/// domain every pass, stays bounded.
@Suite("Foreign claims")
struct ForeignClaimsTests {
    @Test("a message remembered as another node's is skipped until its recheck time, then read again")
    func skipsUntilRecheck() {
        var f = ForeignClaims(capacity: 10)
        #expect(!f.skips("m1", now: 1_000) { _ in false }, "unknown: read it")
        f.note("m1", domain: "theirs.test", recheckAt: 3_000, now: 1_000)
        #expect(f.skips("m1", now: 1_500) { _ in false })
        #expect(f.skips("m1", now: 2_999) { _ in false })
        #expect(!f.skips("m1", now: 3_000) { _ in false }, "recheck time reached")
        #expect(f.count == 0, "dropped once read again")
    }

    @Test("a remembered message whose domain now maps here is read again at once; a live-lease entry ignores the domain")
    func domainAskedEveryPass() {
        var f = ForeignClaims(capacity: 10)
        f.note("m1", domain: "d.test", recheckAt: 60_000, now: 1_000)
        f.note("m2", domain: nil, recheckAt: 60_000, now: 1_000)
        var asked: [String] = []
        #expect(f.skips("m1", now: 2_000) { asked.append($0); return false })
        #expect(!f.skips("m1", now: 2_100) { asked.append($0); return true }, "the live members changed")
        #expect(asked == ["d.test", "d.test"])
        #expect(f.skips("m2", now: 2_100) { _ in true }, "another member's live lease")
        f.forget("m2")
        #expect(!f.skips("m2", now: 2_100) { _ in false })
    }

    @Test("memory stays within capacity: expired entries go first, then all")
    func bounded() {
        var f = ForeignClaims(capacity: 3)
        f.note("a", domain: nil, recheckAt: 1_500, now: 1_000)
        f.note("b", domain: nil, recheckAt: 9_000, now: 1_000)
        f.note("c", domain: nil, recheckAt: 9_000, now: 1_000)
        f.note("d", domain: nil, recheckAt: 9_000, now: 2_000)
        #expect(f.count == 3)
        #expect(!f.skips("a", now: 2_000) { _ in false }, "expired entry made room")
        #expect(f.skips("b", now: 2_000) { _ in false } && f.skips("d", now: 2_000) { _ in false })
        f.note("e", domain: nil, recheckAt: 9_000, now: 2_000)
        #expect(f.count == 1, "nothing expired: started over")
        #expect(f.skips("e", now: 2_000) { _ in false })
        f.note("e", domain: nil, recheckAt: 9_500, now: 2_000)
        #expect(f.count == 1, "noting a remembered message again does not evict")
    }
}
