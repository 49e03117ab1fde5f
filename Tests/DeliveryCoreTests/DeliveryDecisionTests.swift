import Testing
import DeliveryCore
import SendarixSupport

@Suite("Delivery decisions")
struct DeliveryDecisionTests {
    let schedule = RetrySchedule(maxLifetime: 86_400, jitter: 0)

    @Test("a 2xx reply is delivered and carries event fields without a bounce class")
    func delivered() {
        var generator = SplitMix64(seed: 1)
        let decision = DeliveryDecision.decide(recipient: "a@example.com", reply: SMTPReply(250, EnhancedStatusCode(2, 0, 0), "OK queued"),
                                               failedAttempts: 0, queuedAt: 0, now: 10, schedule: schedule, using: &generator)
        #expect(decision.verdict == .delivered && decision.eventType == "delivered")
        #expect(decision.smtpCode == 250 && decision.enhancedCode == "2.0.0" && decision.response == "250 2.0.0 OK queued")
        #expect(decision.bounceClass == nil)
    }

    @Test("a hard failure bounces at once with its class")
    func hardBounce() {
        var generator = SplitMix64(seed: 1)
        let decision = DeliveryDecision.decide(recipient: "a@example.com", reply: SMTPReply(550, EnhancedStatusCode(5, 1, 1), "user unknown"),
                                               failedAttempts: 1, queuedAt: 0, now: 10, schedule: schedule, using: &generator)
        #expect(decision.verdict == .bounced && !decision.expired)
        #expect(decision.bounceClass == "bad-mailbox")
    }

    @Test("greylisting is retried after the wait the receiver names; other soft failures follow the schedule")
    func deferrals() {
        var generator = SplitMix64(seed: 1)
        let grey = DeliveryDecision.decide(recipient: "a@example.com", reply: SMTPReply(450, EnhancedStatusCode(4, 7, 1), "Greylisted for 120 seconds"),
                                           failedAttempts: 1, queuedAt: 0, now: 10, schedule: schedule, using: &generator)
        #expect(grey.verdict == .deferred(until: 130) && grey.bounceClass == "greylisted")
        let busy = DeliveryDecision.decide(recipient: "a@example.com", reply: SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Temporary lookup failure"),
                                           failedAttempts: 3, queuedAt: 0, now: 10, schedule: schedule, using: &generator)
        #expect(busy.verdict == .deferred(until: 910))
    }

    @Test("an attempt this node ended itself is deferred after the local delay, not the step of its attempt number, and marked local")
    func localAbort() {
        var generator = SplitMix64(seed: 1)
        let schedule = RetrySchedule(maxLifetime: 86_400, jitter: 0, localRetryDelay: 5)
        let reply = SMTPReply(451, EnhancedStatusCode(4, 3, 0), "delivery lease expired before sending")
        let decision = DeliveryDecision.localAbort(recipient: "a@example.com", reply: reply, queuedAt: 0, now: 10,
                                                   schedule: schedule, using: &generator)
        #expect(decision.verdict == .deferred(until: 15))
        #expect(decision.isLocal && decision.classification?.hardness == .soft)
        let usual = DeliveryDecision.decide(recipient: "a@example.com", reply: reply, isLocal: true, failedAttempts: 1,
                                            queuedAt: 0, now: 10, schedule: schedule, using: &generator)
        #expect(usual.verdict == .deferred(until: 70))
        // Whatever the wording, a local abort is deferred, never bounced.
        let hard = DeliveryDecision.localAbort(recipient: "a@example.com", reply: SMTPReply(550, EnhancedStatusCode(5, 1, 1), "x"),
                                               queuedAt: 0, now: 10, schedule: schedule, using: &generator)
        #expect(hard.verdict == .deferred(until: 15))
        #expect(hard.classification?.hardness == .soft)
    }

    @Test("a soft failure after the queue lifetime bounces as expired and hard")
    func expiry() {
        var generator = SplitMix64(seed: 1)
        let result = SMTPClientSession.RecipientResult(address: "a@example.com",
                                                       reply: BounceClassifier.syntheticReply(for: .connectionRefused, host: "mx.example.com"),
                                                       isLocal: true)
        let decision = DeliveryDecision.decide(result, failedAttempts: 30, queuedAt: 0, now: 86_400, schedule: schedule, using: &generator)
        #expect(decision.verdict == .bounced && decision.expired && decision.isLocal)
        #expect(decision.classification?.hardness == .hard)
        #expect(decision.bounceClass == "timeout")
    }
}
