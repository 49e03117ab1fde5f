import DeliveryCore
import Testing

/// The parking decision of `DestinationParking` with a hand-driven clock.
@Suite("Destination parking")
struct DestinationParkingTests {
    static func parking(threshold: Int = 3, maxParked: Int = 100) -> DestinationParking {
        var c = DestinationParking.Configuration()
        c.failureThreshold = threshold
        c.fallbackInterval = 60
        c.maxParked = maxParked
        c.expirySweepInterval = 10
        return DestinationParking(configuration: c)
    }

    /// Records `count` connection-level failures of `domain` at `now`, hosts retryable at `retryAt`.
    static func fail(_ p: inout DestinationParking, _ domain: String, count: Int, now: Double, retryAt: Double?) {
        for i in 0..<count { p.recordFailure(domain, queueID: "f\(i)", now: now, retryAt: retryAt) }
    }

    @Test("below the failure threshold every due message is claimed; at it, due messages are parked")
    func parksAtThreshold() {
        var p = Self.parking()
        Self.fail(&p, "down.test", count: 2, now: 100, retryAt: 160)
        #expect(!p.isDown("down.test"))
        #expect(p.decide("m1", destinations: ["down.test"], expiresAt: 10_000, now: 101) == .claim)
        Self.fail(&p, "down.test", count: 1, now: 102, retryAt: 160)
        #expect(p.isDown("down.test"))
        #expect(p.decide("m2", destinations: ["down.test"], expiresAt: 10_000, now: 103) == .park)
        #expect(p.decide("m3", destinations: ["down.test"], expiresAt: 10_000, now: 104) == .park)
        #expect(p.isParked("m2") && p.isParked("m3") && p.parkedCount == 2)
        // Another destination is not affected, nor a message that also goes to an up destination.
        #expect(p.decide("m4", destinations: ["up.test"], expiresAt: 10_000, now: 104) == .claim)
        #expect(p.decide("m5", destinations: ["down.test", "up.test"], expiresAt: 10_000, now: 104) == .claim)
        #expect(p.parkedCount == 2)
    }

    @Test("one probe per retry time: no probe before it, exactly one after it, more parking while it runs")
    func oneProbePerInterval() {
        var p = Self.parking()
        Self.fail(&p, "down.test", count: 3, now: 100, retryAt: 160)
        for i in 0..<10 { #expect(p.decide("m\(i)", destinations: ["down.test"], expiresAt: 10_000, now: 110) == .park) }
        #expect(p.dueProbes(now: 159).isEmpty)
        #expect(p.nextEvent() == 160)
        let probes = p.dueProbes(now: 160)
        #expect(probes.count == 1)
        #expect(p.parkedCount == 9 && !p.isParked(probes[0]))
        #expect(p.dueProbes(now: 161).isEmpty, "a second probe while the first runs")
        #expect(p.decide("late", destinations: ["down.test"], expiresAt: 10_000, now: 161) == .park)
        // The probe fails: parked again until the breaker's next reopening (doubled by the breaker).
        p.recordFailure("down.test", queueID: probes[0], now: 162, retryAt: 282)
        #expect(p.dueProbes(now: 200).isEmpty)
        #expect(p.dueProbes(now: 282).count == 1)
    }

    @Test("a due message becomes the probe itself once the retry time passed")
    func dueMessageProbes() {
        var p = Self.parking()
        Self.fail(&p, "down.test", count: 3, now: 100, retryAt: 160)
        #expect(p.decide("m1", destinations: ["down.test"], expiresAt: 10_000, now: 120) == .park)
        #expect(p.decide("m2", destinations: ["down.test"], expiresAt: 10_000, now: 161) == .probe)
        #expect(p.decide("m3", destinations: ["down.test"], expiresAt: 10_000, now: 162) == .park)
        // The probe's attempt ends without a verdict (claim refused): the slot frees.
        p.attemptEnded("m2")
        #expect(p.decide("m4", destinations: ["down.test"], expiresAt: 10_000, now: 163) == .probe)
    }

    @Test("a success releases every parked message of the destination and only those")
    func successReleases() {
        var p = Self.parking()
        Self.fail(&p, "a.test", count: 3, now: 100, retryAt: 160)
        Self.fail(&p, "b.test", count: 3, now: 100, retryAt: 160)
        for i in 0..<5 { _ = p.decide("a\(i)", destinations: ["a.test"], expiresAt: 10_000, now: 110) }
        for i in 0..<4 { _ = p.decide("b\(i)", destinations: ["b.test"], expiresAt: 10_000, now: 110) }
        let released = p.recordSuccess("a.test")
        #expect(Set(released) == Set((0..<5).map { "a\($0)" }))
        #expect(p.parkedCount == 4 && !p.isDown("a.test") && p.isDown("b.test"))
        #expect(p.decide("a9", destinations: ["a.test"], expiresAt: 10_000, now: 111) == .claim)
    }

    @Test("a message for two destinations down is parked once and released when either recovers")
    func multiDestination() {
        var p = Self.parking()
        Self.fail(&p, "a.test", count: 3, now: 100, retryAt: 10_000)
        Self.fail(&p, "b.test", count: 3, now: 100, retryAt: 10_000)
        #expect(p.decide("both", destinations: ["a.test", "b.test"], expiresAt: 90_000, now: 110) == .park)
        #expect(p.decide("onlyA", destinations: ["a.test"], expiresAt: 90_000, now: 110) == .park)
        #expect(p.parkedCount == 2)
        #expect(p.recordSuccess("b.test") == ["both"])
        #expect(p.isParked("onlyA") && !p.isParked("both") && p.parkedCount == 1)
        #expect(Set(p.recordSuccess("a.test")) == ["onlyA"])
        #expect(p.parkedCount == 0)
    }

    @Test("a parked message whose lifetime ends is released (to bounce); an expired one is never parked")
    func expiryReleases() {
        var p = Self.parking()
        Self.fail(&p, "down.test", count: 3, now: 100, retryAt: 10_000)
        #expect(p.decide("short", destinations: ["down.test"], expiresAt: 130, now: 110) == .park)
        #expect(p.decide("long", destinations: ["down.test"], expiresAt: 5_000, now: 110) == .park)
        #expect(p.nextEvent() == 130)
        #expect(p.expired(now: 129).isEmpty)
        #expect(p.expired(now: 130) == ["short"])
        #expect(!p.isParked("short") && p.isParked("long"))
        #expect(p.decide("old", destinations: ["down.test"], expiresAt: 120, now: 131) == .claim)
    }

    @Test("parking is bounded: beyond maxParked due messages are claimed as usual when postponing is off")
    func bounded() {
        var c = DestinationParking.Configuration()
        c.failureThreshold = 3
        c.maxParked = 3
        c.postponeSeconds = 0
        var p = DestinationParking(configuration: c)
        Self.fail(&p, "down.test", count: 3, now: 100, retryAt: 10_000)
        let decisions = (0..<5).map { p.decide("m\($0)", destinations: ["down.test"], expiresAt: 90_000, now: 110) }
        #expect(decisions == [.park, .park, .park, .claim, .claim])
        #expect(p.parkedCount == 3)
    }

    @Test("beyond maxParked a message is postponed past the destination's next probe, never past its lifetime's end")
    func postponedBeyondCap() {
        var p = Self.parking(maxParked: 2)
        Self.fail(&p, "down.test", count: 3, now: 100, retryAt: 10_000)
        #expect(p.decide("m0", destinations: ["down.test"], expiresAt: 90_000, now: 110) == .park)
        #expect(p.decide("m1", destinations: ["down.test"], expiresAt: 90_000, now: 110) == .park)
        // The probe is at 10,000, later than now + postponeSeconds (300): postponed to the probe.
        #expect(p.decide("m2", destinations: ["down.test"], expiresAt: 90_000, now: 110) == .postpone(until: 10_000))
        // A lifetime ending first caps it.
        #expect(p.decide("m3", destinations: ["down.test"], expiresAt: 5_000, now: 110) == .postpone(until: 5_000))
        #expect(p.parkedCount == 2 && !p.isParked("m2"), "a postponed message takes no memory")
        // A probe due soon: at least postponeSeconds ahead, so a large overflow is rewritten rarely.
        Self.fail(&p, "soon.test", count: 3, now: 100, retryAt: 150)
        #expect(p.decide("s0", destinations: ["soon.test"], expiresAt: 90_000, now: 110) == .postpone(until: 410))
        // Down for longer than postponeSeconds: postponed by as long as it has been down, at most an hour.
        #expect(p.decide("s1", destinations: ["soon.test"], expiresAt: 90_000, now: 100 + 2_000) == .probe)
        #expect(p.decide("s2", destinations: ["soon.test"], expiresAt: 90_000, now: 100 + 2_000) == .postpone(until: 100 + 4_000))
        #expect(p.decide("s3", destinations: ["soon.test"], expiresAt: 90_000, now: 100 + 5_000) == .postpone(until: 100 + 5_000 + 3_600))
        // An up destination or an expired message is still claimed.
        #expect(p.decide("u0", destinations: ["up.test"], expiresAt: 90_000, now: 110) == .claim)
        #expect(p.decide("x0", destinations: ["down.test"], expiresAt: 100, now: 110) == .claim)
    }

    @Test("without a retry time the fallback interval applies; up destinations are forgotten after a while")
    func fallbackAndPrune() {
        var p = Self.parking()
        Self.fail(&p, "down.test", count: 3, now: 100, retryAt: nil)
        _ = p.decide("m1", destinations: ["down.test"], expiresAt: 90_000, now: 101)
        #expect(p.nextEvent() == 160)
        Self.fail(&p, "flaky.test", count: 1, now: 100, retryAt: nil)
        p.prune(now: 100 + 601)
        #expect(p.destinations["flaky.test"] == nil)
        #expect(p.destinations["down.test"] != nil, "a destination with parked mail is kept")
    }
}
