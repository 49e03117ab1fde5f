import Testing
import DeliveryCore

/// Per-provider learned deferral behaviour, driven by classified real replies and a mock clock.
@Suite("Provider deferrals feed the adaptive throttle")
struct ProviderDeferralsTests {
    /// A clock the test moves by hand (seconds since the epoch).
    struct MockClock {
        var now: Double = 1_700_000_000
        mutating func advance(_ seconds: Double) { now += seconds }
    }

    let classifier = BounceClassifier()
    let base = ShapingPolicy.defaults(for: .google)
    let ipA = "127.56.0.1"
    let ipB = "127.56.0.2"

    func classify(_ text: String) throws -> BounceClassification {
        classifier.classify(try #require(SMTPReply(parsing: text)))
    }

    @Test("a rate limit from Gmail slows Gmail for every source address, not Yahoo, and moves no traffic")
    func rateLimitSlowsProviderOnly() throws {
        var clock = MockClock()
        var deferrals = ProviderDeferrals()
        let reply = try classify("421-4.7.28 [127.56.0.1] Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. - gsmtp")
        let reaction = deferrals.record(reply, provider: .google, scope: "google", source: ipA, now: clock.now)
        #expect(reaction == .slowProvider)
        clock.advance(1)
        let fromA = try #require(deferrals.apply(base, to: .google, scope: "google", source: ipA, now: clock.now))
        let fromB = try #require(deferrals.apply(base, to: .google, scope: "google", source: ipB, now: clock.now))
        #expect(fromA.messagesPerSecond == base.messagesPerSecond / 2)
        #expect(fromB.messagesPerSecond == base.messagesPerSecond / 2)
        #expect(deferrals.status(.yahoo, scope: "yahoo", source: ipA, now: clock.now) == .normal)
        #expect(!deferrals.isAvoided(ipA, for: .google, scope: "google", now: clock.now))
        // Without new signals the slowdown wears off after the recovery interval.
        clock.advance(AdaptiveThrottle.Configuration().recoveryInterval + 1)
        #expect(deferrals.status(.google, scope: "google", source: ipA, now: clock.now) == .normal)
    }

    @Test("a Yahoo IP block deprioritises that source address for Yahoo only, until it has had time to lift")
    func ipBlockAvoidsSourceForProvider() throws {
        var clock = MockClock()
        var deferrals = ProviderDeferrals()
        let reply = try classify("553 5.7.2 [TSS09] All messages from 127.56.0.1 will be permanently deferred; Retrying will NOT succeed")
        let reaction = deferrals.record(reply, provider: .yahoo, scope: "yahoo", source: ipA, now: clock.now)
        guard case .avoidSource(let blocked, let until) = reaction else {
            Issue.record("expected avoidSource, got \(reaction)")
            return
        }
        #expect(blocked)
        #expect(until > clock.now)
        clock.advance(1)
        #expect(deferrals.isAvoided(ipA, for: .yahoo, scope: "yahoo", now: clock.now))
        #expect(!deferrals.isAvoided(ipB, for: .yahoo, scope: "yahoo", now: clock.now))
        #expect(!deferrals.isAvoided(ipA, for: .google, scope: "google", now: clock.now))
        #expect(deferrals.apply(base, to: .yahoo, scope: "yahoo", source: ipA, now: clock.now) == nil)
        #expect(deferrals.apply(base, to: .yahoo, scope: "yahoo", source: ipB, now: clock.now) == base)
        #expect(deferrals.apply(base, to: .google, scope: "google", source: ipA, now: clock.now) == base)
        clock.now = until + 1
        #expect(!deferrals.isAvoided(ipA, for: .yahoo, scope: "yahoo", now: clock.now))
        #expect(deferrals.apply(base, to: .yahoo, scope: "yahoo", source: ipA, now: clock.now) != nil)
    }

    @Test("a temporary reputation block (4xx) deprioritises without blocking; bad mailboxes and greylisting change nothing")
    func softBlockAndNonSignals() throws {
        let clock = MockClock()
        var deferrals = ProviderDeferrals()
        let soft = try classify("421 4.7.0 This message is suspicious due to the very low reputation of the sending IP address. To protect our users from spam, email sent from your IP address has been temporarily rate limited.")
        #expect(soft.bounceClass == .reputationBlock)
        let reaction = deferrals.record(soft, provider: .google, scope: "google", source: ipA, now: clock.now)
        guard case .avoidSource(let blocked, _) = reaction else {
            Issue.record("expected avoidSource, got \(reaction)")
            return
        }
        #expect(!blocked)
        for text in ["550 5.1.1 The email account that you tried to reach does not exist.",
                     "451 4.7.1 Greylisting in action, please come back later"] {
            #expect(deferrals.record(try classify(text), provider: .google, scope: "google", source: ipA, now: clock.now) == ProviderDeferrals.Reaction.none)
        }
        #expect(deferrals.throttle.trackedCount == 1)
        #expect(deferrals.status(.google, scope: "google", source: ipB, now: clock.now) == .normal)
    }
}
