import Testing
import DeliveryCore

@Suite("Adaptive throttle, circuit breaker, rate limiter")
struct ThrottlingTests {
    let rateLimited = BounceClassification(.rateLimited, .soft, rule: "test")
    let reputationHard = BounceClassification(.reputationBlock, .hard, rule: "test")
    let key = AdaptiveThrottle.Key(.google, "192.0.2.10")

    @Test("a rate-limit deferral halves the provider's rates for that source IP only")
    func slowdown() {
        var throttle = AdaptiveThrottle()
        #expect(throttle.status(for: key, now: 0) == .normal)
        let result1 = throttle.record(rateLimited, for: key, now: 100)
        #expect(result1 == .slowed(factor: 0.5, level: 1))
        let policy = throttle.apply(ShapingPolicy.defaults(for: .google), for: key, now: 101)
        #expect(policy?.maxConnections == 2)
        #expect(policy?.messagesPerSecond == 50)
        #expect(throttle.status(for: AdaptiveThrottle.Key(.google, "192.0.2.11"), now: 101) == .normal)
        #expect(throttle.status(for: AdaptiveThrottle.Key(.yahoo, "192.0.2.10"), now: 101) == .normal)
    }

    @Test("non-throttle failures such as a bad mailbox do not slow anything")
    func ignoresOtherFailures() {
        var throttle = AdaptiveThrottle()
        throttle.record(BounceClassification(.badMailbox, .hard, rule: "x"), for: key, now: 0)
        #expect(throttle.status(for: key, now: 0) == .normal)
        #expect(throttle.trackedCount == 0)
    }

    @Test("simultaneous deferrals from parallel connections count once")
    func coalesce() {
        var throttle = AdaptiveThrottle()
        throttle.record(rateLimited, for: key, now: 100)
        throttle.record(rateLimited, for: key, now: 105)
        throttle.record(rateLimited, for: key, now: 110)
        #expect(throttle.status(for: key, now: 111) == .slowed(factor: 0.5, level: 1))
        throttle.record(rateLimited, for: key, now: 200)
        #expect(throttle.status(for: key, now: 201) == .slowed(factor: 0.25, level: 2))
    }

    @Test("repeated deferrals suspend the provider, then it recovers one step per interval")
    func suspendAndRecover() {
        var throttle = AdaptiveThrottle()
        for step in 0..<4 { throttle.record(rateLimited, for: key, now: Double(step) * 100) }
        // Level 4 reached at t=300: suspended for 900 s.
        #expect(throttle.status(for: key, now: 301) == .suspended(until: 1200))
        #expect(throttle.apply(ShapingPolicy(), for: key, now: 301) == nil)
        // Suspension over: level 4 capped to 3 while slowed, then decays every 600 s.
        #expect(throttle.status(for: key, now: 1200) == .slowed(factor: 0.125, level: 3))
        #expect(throttle.status(for: key, now: 1800) == .slowed(factor: 0.125, level: 3))
        #expect(throttle.status(for: key, now: 2400) == .slowed(factor: 0.25, level: 2))
        #expect(throttle.status(for: key, now: 3000) == .slowed(factor: 0.5, level: 1))
        #expect(throttle.status(for: key, now: 3600) == .normal)
        throttle.prune(now: 3600)
        #expect(throttle.trackedCount == 0)
    }

    @Test("a permanent reputation block suspends at once")
    func reputationSuspends() {
        var throttle = AdaptiveThrottle()
        let result2 = throttle.record(reputationHard, for: key, now: 50)
        #expect(result2 == .suspended(until: 950))
    }

    @Test("a permanent reputation block only the learned model guessed (a bare '550 5.7.1 sender refused') slows the provider but does not suspend it")
    func guessedReputationSlows() {
        var throttle = AdaptiveThrottle()
        let guessed = BounceClassifier().classify(code: 550, enhancedCode: nil, text: "5.7.1 sender refused")
        let status = throttle.record(guessed, for: key, now: 50)
        if case .suspended = status { Issue.record("suspended on \(guessed)") }
        let modelGuess = BounceClassification(.reputationBlock, .hard, rule: "model-reputation-block")
        var other = AdaptiveThrottle()
        guard case .slowed = other.record(modelGuess, for: key, now: 50) else {
            Issue.record("a model-guessed hard reputation block did not just slow: \(other.status(for: key, now: 50))")
            return
        }
    }

    @Test("a permanent block right after a coalesced deferral still suspends")
    func hardBlockNotCoalesced() {
        var throttle = AdaptiveThrottle()
        throttle.record(rateLimited, for: key, now: 0)
        throttle.record(reputationHard, for: key, now: 5)
        #expect(throttle.status(for: key, now: 6) == .suspended(until: 905))
    }

    @Test("the circuit opens after the failure threshold, half-opens for one probe, and closes on success")
    func breakerCycle() {
        var breaker = CircuitBreaker(failureThreshold: 3, openDuration: 60)
        for time in 0..<3 {
            let result3 = breaker.allowAttempt(now: Double(time))
            #expect(result3)
            breaker.recordFailure(now: Double(time))
        }
        #expect(breaker.state(now: 3) == .open(until: 62))
        let result4 = breaker.allowAttempt(now: 61)
        #expect(!result4)
        #expect(breaker.state(now: 62) == .halfOpen)
        let result5 = breaker.allowAttempt(now: 62)
        #expect(result5)
        let result6 = breaker.allowAttempt(now: 62)
        #expect(!result6, "only one probe at a time")
        breaker.recordSuccess(now: 63)
        #expect(breaker.state(now: 63) == .closed)
        let result7 = breaker.allowAttempt(now: 63)
        #expect(result7)
    }

    @Test("a half-open probe released without a verdict (its pooled connection was found closed) frees the slot for the next probe")
    func breakerReleasedProbe() {
        var breaker = CircuitBreaker(failureThreshold: 1, openDuration: 10)
        breaker.recordFailure(now: 0)
        let probe = breaker.allowAttempt(now: 10)
        let second = breaker.allowAttempt(now: 10)
        #expect(probe && !second, "one probe at a time")
        breaker.releaseProbe()
        #expect(breaker.state(now: 10) == .halfOpen, "no verdict: still half-open")
        let again = breaker.allowAttempt(now: 10)
        #expect(again, "the released slot is free again")
        breaker.releaseProbe()
        breaker.releaseProbe()
        let once = breaker.allowAttempt(now: 11)
        let twice = breaker.allowAttempt(now: 11)
        #expect(once && !twice, "releasing more than was taken does not add slots")
    }

    @Test("a failed probe re-opens the circuit for twice as long")
    func breakerBackoff() {
        var breaker = CircuitBreaker(failureThreshold: 1, openDuration: 10, maxOpenDuration: 25)
        breaker.recordFailure(now: 0)
        #expect(breaker.state(now: 0) == .open(until: 10))
        let result8 = breaker.allowAttempt(now: 10)
        #expect(result8)
        breaker.recordFailure(now: 11)
        #expect(breaker.state(now: 11) == .open(until: 31))
        let result9 = breaker.allowAttempt(now: 31)
        #expect(result9)
        breaker.recordFailure(now: 31)
        #expect(breaker.state(now: 31) == .open(until: 56), "capped at maxOpenDuration")
    }

    @Test("successes in between keep the circuit closed")
    func breakerResetsCount() {
        var breaker = CircuitBreaker(failureThreshold: 2)
        breaker.recordFailure(now: 0)
        breaker.recordSuccess(now: 1)
        breaker.recordFailure(now: 2)
        #expect(breaker.state(now: 2) == .closed)
    }

    @Test("the token bucket allows a burst, then refills at its rate")
    func tokenBucket() {
        var limiter = RateLimiter(rate: 2, burst: 3, now: 0)
        let result10 = limiter.tryAcquire(now: 0)
        #expect(result10)
        let result11 = limiter.tryAcquire(now: 0)
        #expect(result11)
        let result12 = limiter.tryAcquire(now: 0)
        #expect(result12)
        let result13 = limiter.tryAcquire(now: 0)
        #expect(!result13)
        #expect(limiter.delay(now: 0) == 0.5)
        let result14 = limiter.tryAcquire(now: 0.4)
        #expect(!result14)
        let result15 = limiter.tryAcquire(now: 0.5)
        #expect(result15)
        #expect(limiter.available(now: 100) == 3, "never more than the burst")
        #expect(limiter.delay(until: 5, now: 100) == .infinity)
    }

    @Test("reconfiguring the bucket keeps earned tokens up to the new burst")
    func tokenBucketReconfigure() {
        var limiter = RateLimiter(rate: 10, burst: 10, now: 0)
        limiter.reconfigure(rate: 1, burst: 2, now: 0)
        #expect(limiter.available(now: 0) == 2)
        let result16 = limiter.tryAcquire(2, now: 0)
        #expect(result16)
        #expect(limiter.delay(now: 0) == 1)
    }
}
