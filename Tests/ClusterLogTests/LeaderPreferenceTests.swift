import Testing
@testable import ClusterLog

@Suite("Leadership preference for a region: the pure decision")
struct LeaderPreferenceTests {
    let policy = LeaderPreference(preferred: ["n2", "n3"])

    func member(_ id: String, lag: UInt64 = 0, healthySince: Double? = 0, connected: Bool = true,
                contact: UInt64? = 100, voter: Bool = true) -> LeaderPreference.Member {
        .init(id: id, isVoter: voter, connected: connected, lastContactMillis: contact, lag: lag, healthySince: healthySince)
    }

    @Test("a settled leader outside the preferred region hands leadership to the least-lagging healthy preferred voter")
    func transfersToBestPreferred() {
        let d = policy.decide(selfID: "n1", leaderSince: 0, lastAttempt: nil, now: 100,
                              members: [member("n2", lag: 7), member("n3", lag: 2)])
        #expect(d == .transfer(to: "n3"))
        let tie = policy.decide(selfID: "n1", leaderSince: 0, lastAttempt: nil, now: 100,
                                members: [member("n3", lag: 0), member("n2", lag: 0)])
        #expect(tie == .transfer(to: "n2"))
    }

    @Test("a preferred leader never hands leadership away, so two preferred nodes cannot pass it back and forth")
    func preferredLeaderStays() {
        #expect(policy.decide(selfID: "n2", leaderSince: 0, lastAttempt: nil, now: 100,
                              members: [member("n1"), member("n3")]) == .stay("leader is in the preferred region"))
    }

    @Test("hysteresis: an unsettled leader, a recent attempt, or a target healthy only briefly keeps the leader")
    func hysteresis() {
        let members = [member("n2", healthySince: 0)]
        #expect(policy.decide(selfID: "n1", leaderSince: 98, lastAttempt: nil, now: 100, members: members)
                == .stay("leader not settled"))
        #expect(policy.decide(selfID: "n1", leaderSince: 0, lastAttempt: 90, now: 100, members: members)
                == .stay("attempted recently"))
        #expect(policy.decide(selfID: "n1", leaderSince: 0, lastAttempt: 80, now: 100, members: members)
                == .transfer(to: "n2"))
        let flapping = [member("n2", healthySince: 95)]
        #expect(policy.decide(selfID: "n1", leaderSince: 0, lastAttempt: nil, now: 100, members: flapping)
                == .stay("no healthy caught-up member in the preferred region"))
        #expect(policy.decide(selfID: "n1", leaderSince: 0, lastAttempt: nil, now: 105, members: flapping)
                == .transfer(to: "n2"))
    }

    @Test("unhealthy, lagging, learner and non-preferred members are never targets")
    func ineligible() {
        let none = LeaderPreference.Decision.stay("no healthy caught-up member in the preferred region")
        for m in [member("n2", connected: false), member("n2", contact: 5_000), member("n2", contact: nil),
                  member("n2", lag: 5_000), member("n2", voter: false), member("n2", healthySince: nil), member("n4")] {
            #expect(policy.decide(selfID: "n1", leaderSince: 0, lastAttempt: nil, now: 100, members: [m]) == none)
        }
    }

    @Test("no preferred region or not leading: nothing to do")
    func nothingToDo() {
        #expect(LeaderPreference(preferred: []).decide(selfID: "n1", leaderSince: 0, lastAttempt: nil, now: 100,
                                                       members: [member("n2")]) == .stay("no preferred region"))
        #expect(policy.decide(selfID: "n1", leaderSince: nil, lastAttempt: nil, now: 100, members: [member("n2")])
                == .stay("not the leader"))
    }

    @Test("health means connected and heard from within the contact window")
    func health() {
        #expect(policy.isHealthy(member("n2", contact: 2_000)))
        #expect(!policy.isHealthy(member("n2", contact: 2_001)))
        #expect(!policy.isHealthy(member("n2", connected: false)))
    }
}
