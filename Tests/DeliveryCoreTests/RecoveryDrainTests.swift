import DeliveryCore
import Testing

/// What the scheduler does when a destination comes back after an outage (`RecoveryDrain`,
/// `FairLine`), with a hand-driven clock (ms): postponed mail is pulled in due order with a bounded
/// number in flight, the pull stops when the destination goes down again and resumes at the next
/// recovery, and fresh mail is served in turns with the backlog.
@Suite("Recovery drain")
struct RecoveryDrainTests {
    @Test("a recovered destination's pull runs from the recovery to its latest postponed time, at most pullAhead in flight")
    func pullBounded() {
        var c = RecoveryDrain.Configuration()
        c.pullAhead = 3
        var d = RecoveryDrain(configuration: c)
        d.postponed("a.test", until: 50_000)
        d.postponed("a.test", until: 90_000)
        d.postponed("a.test", until: 70_000)
        #expect(d.pull(of: "a.test") == nil, "no pull while it is down")
        d.recovered("a.test", now: 10_000)
        #expect(d.pull(of: "a.test") == RecoveryDrain.Pull(afterAt: 10_000, afterID: "", through: 90_000))
        #expect(d.pulling == ["a.test"])
        #expect(d.pullRoom("a.test") == 3)
        for id in ["m1", "m2", "m3"] { d.started(id, destination: "a.test") }
        #expect(d.pullRoom("a.test") == 0, "bounded in flight: the pull follows the shaped rate")
        d.ended("m2")
        #expect(d.pullRoom("a.test") == 1 && d.pulledCount == 2 && d.pulledTotal == 3)
        // m1's due time is still being moved: not in flight in the scheduler yet, but not ended.
        d.endAll { $0 == "m1" }
        #expect(d.pullRoom("a.test") == 1)
        d.claimed("m1")
        d.endAll { $0 == "m1" }
        #expect(d.pullRoom("a.test") == 2)
        d.advance("a.test", at: 60_000, queueID: "m9")
        #expect(d.pull(of: "a.test")?.afterAt == 60_000 && d.pull(of: "a.test")?.afterID == "m9")
        d.finishPull("a.test")
        #expect(d.pulling.isEmpty && d.pullRoom("a.test") == 0)
    }

    @Test("a pull whose move to now failed (a leader change) is set back to read those messages again, and a finished pull gets a new one; their attempts end")
    func moveFailedRewinds() {
        var d = RecoveryDrain()
        d.postponed("a.test", until: 90_000)
        d.postponed("b.test", until: 90_000)
        d.recovered("a.test", now: 10_000)
        d.recovered("b.test", now: 10_000)
        for (id, dest) in [("a1", "a.test"), ("a2", "a.test"), ("b1", "b.test")] { d.started(id, destination: dest) }
        d.advance("a.test", at: 60_000, queueID: "a9")
        d.finishPull("b.test")
        d.moveFailed([(queueID: "a1", seen: 40_000), (queueID: "a2", seen: 45_000), (queueID: "b1", seen: 50_000)])
        #expect(d.pull(of: "a.test") == RecoveryDrain.Pull(afterAt: 40_000, afterID: "", through: 90_000))
        #expect(d.pull(of: "b.test") == RecoveryDrain.Pull(afterAt: 50_000, afterID: "", through: 50_000))
        #expect(d.pulledCount == 0 && !d.isPulled("a1") && d.movingCount == 0)
        // A failure behind the cursor's position does not move it forward; a destination no longer
        // recovering (no lane) gets no pull.
        d.started("a3", destination: "a.test")
        d.moveFailed([(queueID: "a3", seen: 70_000)])
        #expect(d.pull(of: "a.test") == RecoveryDrain.Pull(afterAt: 40_000, afterID: "", through: 90_000))
        d.started("c1", destination: "c.test")
        d.moveFailed([(queueID: "c1", seen: 5_000)])
        #expect(d.pull(of: "c.test") == nil && d.pulledCount == 0)
    }

    @Test("down again while pulling: the pull stops and its horizon is kept for the next recovery")
    func downAgainStops() {
        var d = RecoveryDrain()
        d.postponed("a.test", until: 90_000)
        d.recovered("a.test", now: 10_000)
        d.started("m1", destination: "a.test")
        d.wentDown("a.test")
        #expect(d.pulling.isEmpty && d.pullRoom("a.test") == 0, "no pulled attempts against a destination that fails")
        #expect(d.horizons["a.test"] == 90_000)
        #expect(!d.isFresh("a.test", receivedAt: 20_000), "no fresh lane while down")
        d.recovered("a.test", now: 30_000)
        #expect(d.pull(of: "a.test") == RecoveryDrain.Pull(afterAt: 30_000, afterID: "", through: 90_000))
        // A destination with nothing postponed past its recovery gets no pull, only the fresh lane.
        d.recovered("b.test", now: 30_000)
        #expect(d.pull(of: "b.test") == nil && d.isFresh("b.test", receivedAt: 30_000))
    }

    @Test("postponed mail received since the destination's last failure is pulled first, oldest first, and served as fresh")
    func freshSinceLastFailure() {
        var c = RecoveryDrain.Configuration()
        c.recentPerDestination = 3
        var d = RecoveryDrain(configuration: c)
        d.postponed("a.test", until: 400_000, queueID: "old", receivedAt: 5_000)
        for i in 0..<5 { d.postponed("a.test", until: 400_000 + Int64(i), queueID: "new\(i)", receivedAt: 21_000 + Int64(i)) }
        d.postponed("b.test", until: 400_000, queueID: "other", receivedAt: 22_000)
        // Last probe failed at 20 s, the next one got through at 50 s.
        d.recovered("a.test", now: 50_000, lastFailure: 20_000)
        #expect(d.isFresh("a.test", receivedAt: 50_000) && !d.isFresh("a.test", receivedAt: 49_999))
        #expect(d.pulling == ["a.test"] && d.pullRoom("a.test") == 64)
        var first: [String] = []
        while let id = d.nextFirst("a.test") { first.append(id) }
        #expect(first == ["new2", "new3", "new4"], "the most recent (bounded memory), received since the failure, oldest first: \(first)")
        #expect(d.isPulledFirst("new3") && !d.isPulledFirst("old"), "served as fresh")
        d.started("new3", destination: "a.test")
        d.ended("new3")
        #expect(!d.isPulledFirst("new3"))
        #expect(d.pull(of: "a.test") == RecoveryDrain.Pull(afterAt: 50_000, afterID: "", through: 400_004))
        #expect(d.nextFirst("b.test") == nil, "b.test is still down")
    }

    @Test("fresh is mail received since its destination came back; the split is forgotten keepMillis later")
    func freshSplit() {
        var c = RecoveryDrain.Configuration()
        c.keepMillis = 60_000
        var d = RecoveryDrain(configuration: c)
        d.recovered("a.test", now: 10_000)
        #expect(d.isFresh("a.test", receivedAt: 10_000) && !d.isFresh("a.test", receivedAt: 9_999))
        #expect(!d.isFresh("other.test", receivedAt: 20_000))
        #expect(d.freshSince == 10_000)
        d.prune(now: 69_999)
        #expect(d.freshSince == 10_000)
        d.prune(now: 70_000)
        #expect(d.freshSince == nil)
    }

    @Test("a queue ID's receipt time is read from its first 9 characters; other IDs give nil")
    func queueIDTime() {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        let ms: Int64 = 1_796_000_000_123
        var v = ms
        var head: [Character] = []
        for _ in 0..<9 { head.insert(alphabet[Int(v & 31)], at: 0); v >>= 5 }
        let id = String(head) + "ABCD" + "XYZ" + "0001"
        #expect(RecoveryDrain.receivedMillis(queueID: id) == ms)
        #expect(RecoveryDrain.receivedMillis(queueID: "fresh0") == nil)
        #expect(RecoveryDrain.receivedMillis(queueID: "0000000U" + "ABCDXYZ00001x") == nil)
    }

    /// A destination shaped at one token per tick drains a line of `backlog` jobs while a fresh job
    /// arrives every 20 ticks; returns the longest wait of a fresh job in ticks.
    static func worstFreshWait(backlog: Int, lanes: Bool) -> Int {
        var line = FairLine<(id: Int, fresh: Bool, at: Int)>()
        for i in 0..<backlog { line.append((i, false, 0), fresh: false) }
        var worst = 0
        var next = backlog
        for tick in 0..<(backlog + 200) {
            if tick % 20 == 0 {
                line.append((next, true, tick), fresh: lanes)
                next += 1
            }
            guard let job = line.popFirst() else { break }
            if job.fresh { worst = max(worst, tick - job.at) }
        }
        return worst
    }

    @Test("behind 2,000 waiting backlog jobs fresh mail waits a token or two with lanes, the whole line without")
    func fairLine() {
        #expect(Self.worstFreshWait(backlog: 2_000, lanes: true) <= 2)
        #expect(Self.worstFreshWait(backlog: 2_000, lanes: false) >= 1_900)
    }

    @Test("the line alternates lanes, keeps each lane's order, and a job pushed back to the front is next")
    func fairLineOrder() {
        var line = FairLine<String>()
        for s in ["b1", "b2", "b3"] { line.append(s, fresh: false) }
        for s in ["f1", "f2"] { line.append(s, fresh: true) }
        #expect(line.count == 5 && line.freshCount == 2)
        var out: [String] = []
        out.append(line.popFirst()!)
        out.append(line.popFirst()!)
        line.pushFront(out[1], fresh: false)
        out.append(line.popFirst()!)
        while let s = line.popFirst() { out.append(s) }
        #expect(out == ["f1", "b1", "b1", "f2", "b2", "b3"])
        #expect(line.isEmpty && line.popFirst() == nil)
    }
}

/// After a restart the drain has no horizon for mail an earlier run postponed (review finding:
/// nothing was pulled then); until the start plus the longest postponement a recovery pulls at
/// least that far.
@Suite("Recovery drain after a restart")
struct RecoveryDrainRestartTests {
    @Test("a destination that recovers soon after a restart pulls through the unrecorded postponements; later recoveries use the horizon only")
    func pullsUnrecorded() {
        var d = RecoveryDrain(unrecordedUntil: 4_000_000)
        d.recovered("a.test", now: 100_000)
        #expect(d.pull(of: "a.test") == RecoveryDrain.Pull(afterAt: 100_000, afterID: "", through: 4_000_000),
                "mail postponed before the restart (no horizon) is pulled")
        d.postponed("b.test", until: 5_000_000)
        d.recovered("b.test", now: 200_000)
        #expect(d.pull(of: "b.test")?.through == 5_000_000, "a later horizon still reaches further")
        d.recovered("c.test", now: 4_100_000)
        #expect(d.pull(of: "c.test") == nil && d.unrecordedUntil == nil,
                "once every earlier postponement is due, a recovery without a horizon pulls nothing")
    }

    @Test("the start floor is not applied to a destination that delivered since start, and only once to one that recovers")
    func floorOnlyForDownSinceStart() {
        var d = RecoveryDrain(unrecordedUntil: 4_000_000)
        d.delivered("up.test", now: 50_000)
        d.recovered("up.test", now: 100_000)
        #expect(d.pull(of: "up.test") == nil, "up at start: nothing an earlier run postponed is hidden")
        d.recovered("down.test", now: 100_000)
        #expect(d.pull(of: "down.test")?.through == 4_000_000)
        d.finishPull("down.test")
        d.recovered("down.test", now: 200_000)
        #expect(d.pull(of: "down.test") == nil, "the floor's walk is not repeated at a second recovery")
    }

    @Test("mail whose postpone had not committed at the recovery is pulled first (it would land after the walk), and waits while it is still pending")
    func pendingPostponePulledFirst() {
        var d = RecoveryDrain()
        d.postponed("a.test", until: 400_000, queueID: "old-pending", receivedAt: 1_000)
        d.postponed("a.test", until: 400_000, queueID: "old-done", receivedAt: 1_000)
        d.recovered("a.test", now: 100_000, lastFailure: 90_000, pending: { $0 == "old-pending" })
        #expect(d.nextFirst("a.test") == "old-pending", "received before the last failure, but its postpone lands after the walk")
        d.notYet("a.test", "old-pending")
        #expect(!d.isPulledFirst("old-pending"))
        #expect(d.pulling == ["a.test"], "kept for a later pass")
        #expect(d.nextFirst("a.test") == "old-pending")
        #expect(d.nextFirst("a.test") == nil, "one whose postpone committed before the recovery is the walk's")
    }

    @Test("past upSinceStartLimit destinations delivering, the floor is given up instead of growing")
    func floorBounded() {
        var d = RecoveryDrain(unrecordedUntil: 4_000_000)
        for i in 0..<RecoveryDrain.upSinceStartLimit { d.delivered("d\(i).test", now: 1_000) }
        #expect(d.unrecordedUntil == 4_000_000)
        d.delivered("one-more.test", now: 1_000)
        #expect(d.unrecordedUntil == nil)
        d.recovered("late.test", now: 2_000)
        #expect(d.pull(of: "late.test") == nil)
    }
}

/// Pulls within the scheduler's `maxInFlight` (issue 16): together at most half of it, counted
/// with the scheduler's other attempts, with room left for them while destinations pull; and with
/// the spool's per-destination postponed table a recovery pulls without a horizon.
@Suite("Recovery drain within maxInFlight")
struct RecoveryDrainBudgetTests {
    @Test("pulls take at most half of maxInFlight, never beyond it with the other attempts; the poll leaves them what they can use")
    func budget() {
        var c = RecoveryDrain.Configuration()
        c.pullAhead = 3
        var d = RecoveryDrain(configuration: c)
        d.postponed("a.test", until: 50_000)
        d.postponed("b.test", until: 50_000)
        #expect(d.claimReserve(maxInFlight: 10) == 0, "nothing pulling: nothing reserved")
        d.recovered("a.test", now: 1_000)
        d.recovered("b.test", now: 1_000)
        #expect(RecoveryDrain.pullShare(maxInFlight: 10) == 5)
        #expect(d.pullBudget(maxInFlight: 10, inFlight: 0) == 5)
        #expect(d.claimReserve(maxInFlight: 10) == 5, "rooms 3 + 3, within the share of 5")
        #expect(d.claimReserve(maxInFlight: 100) == 6, "within the rooms")
        #expect(d.pullBudget(maxInFlight: 10, inFlight: 8) == 2, "the other attempts count")
        for id in ["a1", "a2", "a3"] { d.started(id, destination: "a.test") }
        d.started("b1", destination: "b.test")
        // Four pulled: three being moved (not yet the scheduler's attempts), b1 claimed.
        d.claimed("b1")
        #expect(d.movingCount == 3 && d.pulledCount == 4)
        #expect(d.pullBudget(maxInFlight: 10, inFlight: 1) == 1, "share 5 - 4 pulled")
        #expect(d.pullBudget(maxInFlight: 10, inFlight: 6) == 1, "10 - 6 in flight - 3 being moved")
        #expect(d.pullBudget(maxInFlight: 10, inFlight: 7) == 0)
        #expect(d.claimReserve(maxInFlight: 10) == 1)
        #expect(RecoveryDrain.pullShare(maxInFlight: 1) == 0, "one attempt in all: it is never a pull's")
    }

    @Test("with the per-destination index a recovery pulls all of the destination's postponed mail, with or without a horizon")
    func indexedPullsWithoutHorizon() {
        var c = RecoveryDrain.Configuration()
        c.perDestinationIndex = true
        var d = RecoveryDrain(configuration: c)
        d.recovered("owned-since.test", now: 5_000)
        #expect(d.pull(of: "owned-since.test") == RecoveryDrain.Pull(afterAt: 5_000, afterID: "", through: .max),
                "no horizon here (another member or an earlier run postponed it): pulled all the same")
        d.postponed("a.test", until: 9_000)
        d.recovered("a.test", now: 6_000)
        #expect(d.pull(of: "a.test")?.through == .max)
        let first = d.firstDelivery("b.test"), second = d.firstDelivery("b.test"), withLane = d.firstDelivery("a.test")
        #expect(first && !second, "looked at once per run")
        #expect(!withLane, "a.test has a lane: its recovery pulls already")
        c.pullAhead = 0
        var off = RecoveryDrain(configuration: c)
        let offFirst = off.firstDelivery("b.test")
        #expect(!offFirst)
        off.recovered("a.test", now: 6_000)
        #expect(off.pull(of: "a.test") == nil, "pullAhead 0: no pull")
    }
}
