import Testing
import DeliveryCore
import SendarixSupport

@Suite("Retry hints and schedule")
struct RetryTests {
    @Test("waits named in deferral texts are read in seconds", arguments: [
        ("451 4.7.1 Greylisted, please retry in 5 minutes", 300),
        ("450 4.7.1 Recipient address rejected: Greylisted for 300 seconds", 300),
        ("Intentional policy rejection, please try again in 300 seconds", 300),
        ("451 Greylisted for 60 seconds", 60),
        ("please wait 2 min before retrying", 120),
        ("try again after 1 hour", 3600),
        ("retry in 90s", 90),
        ("451 Greylisted for 5 minutes (00:05:00 left; id=12345)", 300),
        ("Greylisted (00:03:20 left)", 200),
    ])
    func hintParsing(text: String, seconds: Int) {
        #expect(RetryHint.seconds(in: text) == seconds)
    }

    @Test("texts naming no wait give no hint", arguments: [
        "451 4.7.1 Please try again later",
        "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred - 4.16.55.1",
        "see RFC 2821 for 5 reasons",
        "",
    ])
    func noHint(text: String) {
        #expect(RetryHint.seconds(in: text) == nil)
    }

    @Test("greylisting without a named wait defaults to a few minutes; hard failures get no hint")
    func delayDefaults() throws {
        let classifier = BounceClassifier()
        let greylist = try #require(SMTPReply(parsing: "451 4.7.1 Please try again later"))
        #expect(RetryHint.delay(for: greylist, classification: classifier.classify(greylist)) == RetryHint.defaultGreylistDelay)
        let named = try #require(SMTPReply(parsing: "450 4.2.0 Greylisted for 60 seconds"))
        #expect(RetryHint.delay(for: named, classification: classifier.classify(named)) == 60)
        let hard = try #require(SMTPReply(parsing: "550 5.1.1 User unknown, retry in 5 minutes"))
        #expect(RetryHint.delay(for: hard, classification: classifier.classify(hard)) == nil)
        let other = try #require(SMTPReply(parsing: "451 4.3.0 Temporary lookup failure"))
        #expect(RetryHint.delay(for: other, classification: classifier.classify(other)) == nil)
    }

    @Test("without jitter the schedule walks 1, 5, 15, 30 min, 1, 2, 4 h and then repeats 4 h")
    func steps() {
        let schedule = RetrySchedule(jitter: 0)
        var generator = SplitMix64(seed: 1)
        let expected: [Double] = [60, 300, 900, 1800, 3600, 7200, 14400, 14400, 14400]
        for (index, delay) in expected.enumerated() {
            let decision = schedule.next(failedAttempts: index + 1, queuedAt: 0, now: 1000, using: &generator)
            #expect(decision == .retry(at: 1000 + delay))
        }
    }

    @Test("jitter stays within +/-10% and differs between draws")
    func jitter() {
        let schedule = RetrySchedule()
        var generator = SplitMix64(seed: 42)
        var seen = Set<Double>()
        for _ in 0..<200 {
            guard case .retry(let at) = schedule.next(failedAttempts: 5, queuedAt: 0, now: 0, using: &generator) else {
                Issue.record("unexpected expiry")
                return
            }
            #expect(at >= 3240 && at <= 3960)
            seen.insert(at)
        }
        #expect(seen.count > 100)
    }

    @Test("a receiver's requested wait replaces the step and is never shortened by jitter")
    func hintHonoured() {
        let schedule = RetrySchedule()
        var generator = SplitMix64(seed: 7)
        for _ in 0..<100 {
            guard case .retry(let at) = schedule.next(failedAttempts: 1, queuedAt: 0, now: 10, hint: 300, using: &generator) else {
                Issue.record("unexpected expiry")
                return
            }
            #expect(at >= 310 && at <= 340)
        }
    }

    @Test("retries never pass the queue lifetime, and at the lifetime the message expires")
    func lifetime() {
        let schedule = RetrySchedule(maxLifetime: 3600, jitter: 0)
        var generator = SplitMix64(seed: 3)
        #expect(schedule.next(failedAttempts: 7, queuedAt: 0, now: 3000, using: &generator) == .retry(at: 3600))
        #expect(schedule.next(failedAttempts: 8, queuedAt: 0, now: 3600, using: &generator) == .expire)
        #expect(schedule.isExpired(queuedAt: 0, now: 3600))
        #expect(!schedule.isExpired(queuedAt: 0, now: 3599))
        #expect(RetrySchedule().maxLifetime == 5 * 86_400)
    }

    @Test("an attempt this node ended itself is retried after the local delay, whatever the attempts so far, within the jitter")
    func localAbortDelay() {
        let exact = RetrySchedule(maxLifetime: 3600, jitter: 0, localRetryDelay: 5)
        var generator = SplitMix64(seed: 11)
        #expect(exact.retryAfterLocalAbort(queuedAt: 0, now: 1000, using: &generator) == 1005)
        #expect(RetrySchedule().localRetryDelay == 5)
        let jittered = RetrySchedule(localRetryDelay: 10)
        var seen = Set<Double>()
        for _ in 0..<100 {
            let at = jittered.retryAfterLocalAbort(queuedAt: 0, now: 100, using: &generator)
            #expect(at >= 109 && at <= 111)
            seen.insert(at)
        }
        #expect(seen.count > 50)
        let none = RetrySchedule(jitter: 0, localRetryDelay: 0)
        #expect(none.retryAfterLocalAbort(queuedAt: 0, now: 100, using: &generator) == 101)
    }

    @Test("the local retry never passes the queue lifetime; past it the next attempt comes at once (and bounces for its age)")
    func localAbortLifetime() {
        let schedule = RetrySchedule(maxLifetime: 3600, jitter: 0, localRetryDelay: 5)
        var generator = SplitMix64(seed: 5)
        #expect(schedule.retryAfterLocalAbort(queuedAt: 0, now: 3598, using: &generator) == 3600)
        #expect(schedule.retryAfterLocalAbort(queuedAt: 0, now: 3700, using: &generator) == 3700)
    }
}
