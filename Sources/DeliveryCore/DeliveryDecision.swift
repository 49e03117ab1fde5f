/// What to do with one recipient after an attempt: the verdict (delivered, deferred until a time,
/// bounced) together with the fields events need (`smtpCode`, `enhancedCode`, `response`,
/// `bounceClass`). Combines `BounceClassifier`, `RetryHint` and `RetrySchedule`: soft failures are
/// retried (honouring waits the receiver names, e.g. greylisting) until the queue lifetime ends,
/// then bounce; hard failures bounce at once.
///
/// Pure value; any thread may use it.
public struct DeliveryDecision: Sendable, Equatable {
    /// The verdict for the recipient.
    public enum Verdict: Sendable, Equatable {
        /// The receiver accepted the message.
        case delivered
        /// Retry at this time (seconds since the epoch).
        case deferred(until: Double)
        /// Give up: report a bounce (and send a DSN when asked for).
        case bounced
    }

    /// The recipient address.
    public var recipient: String
    /// The verdict.
    public var verdict: Verdict
    /// The reply that decided it (remote, or local when `isLocal`).
    public var reply: SMTPReply
    /// True when the reply was produced locally.
    public var isLocal: Bool
    /// The classification of a failure; nil when delivered. After queue expiry the class of the
    /// last failure is kept and the hardness becomes hard.
    public var classification: BounceClassification?
    /// True when the bounce is due to the queue lifetime running out.
    public var expired: Bool

    /// Creates a decision. Pure; any caller.
    public init(recipient: String, verdict: Verdict, reply: SMTPReply, isLocal: Bool,
                classification: BounceClassification?, expired: Bool = false) {
        self.recipient = recipient
        self.verdict = verdict
        self.reply = reply
        self.isLocal = isLocal
        self.classification = classification
        self.expired = expired
    }

    /// Decides for `reply` after `failedAttempts` failures including this one (1 for a first
    /// failed attempt) of a message queued at `queuedAt`. `stage` is the SMTP stage the reply came
    /// at (`BounceClassifier.classify(_:at:)`; nil when unknown). Pure; the delivery shell calls it.
    public static func decide<G: RandomNumberGenerator>(recipient: String, reply: SMTPReply, isLocal: Bool = false,
                                                        stage: SMTPClientSession.Stage? = nil,
                                                        failedAttempts: Int, queuedAt: Double, now: Double,
                                                        schedule: RetrySchedule = RetrySchedule(),
                                                        classifier: BounceClassifier = BounceClassifier(),
                                                        using generator: inout G) -> DeliveryDecision {
        if reply.isPositive {
            return DeliveryDecision(recipient: recipient, verdict: .delivered, reply: reply, isLocal: isLocal, classification: nil)
        }
        var classification = classifier.classify(reply, at: stage)
        if classification.hardness == .hard {
            return DeliveryDecision(recipient: recipient, verdict: .bounced, reply: reply, isLocal: isLocal,
                                    classification: classification)
        }
        let hint = RetryHint.delay(for: reply, classification: classification)
        switch schedule.next(failedAttempts: failedAttempts, queuedAt: queuedAt, now: now, hint: hint, using: &generator) {
        case .retry(let at):
            return DeliveryDecision(recipient: recipient, verdict: .deferred(until: at), reply: reply, isLocal: isLocal,
                                    classification: classification)
        case .expire:
            classification.hardness = .hard
            return DeliveryDecision(recipient: recipient, verdict: .bounced, reply: reply, isLocal: isLocal,
                                    classification: classification, expired: true)
        }
    }

    /// Decides for a recipient whose attempt this node ended itself before the receiver had the
    /// message (`reply` is local and says why): deferred to `RetrySchedule.retryAfterLocalAbort`,
    /// never bounced, whatever the reply's wording. The classification only labels the event.
    /// Pure; the delivery shell calls it.
    public static func localAbort<G: RandomNumberGenerator>(recipient: String, reply: SMTPReply,
                                                            queuedAt: Double, now: Double,
                                                            schedule: RetrySchedule = RetrySchedule(),
                                                            classifier: BounceClassifier = BounceClassifier(),
                                                            using generator: inout G) -> DeliveryDecision {
        var classification = classifier.classify(reply)
        classification.hardness = .soft
        let until = schedule.retryAfterLocalAbort(queuedAt: queuedAt, now: now, using: &generator)
        return DeliveryDecision(recipient: recipient, verdict: .deferred(until: until), reply: reply, isLocal: true,
                                classification: classification)
    }

    /// Decides for one recipient result of an `SMTPClientSession` transaction. Pure; any caller.
    public static func decide<G: RandomNumberGenerator>(_ result: SMTPClientSession.RecipientResult, failedAttempts: Int,
                                                        queuedAt: Double, now: Double,
                                                        schedule: RetrySchedule = RetrySchedule(),
                                                        classifier: BounceClassifier = BounceClassifier(),
                                                        using generator: inout G) -> DeliveryDecision {
        decide(recipient: result.address, reply: result.reply, isLocal: result.isLocal, stage: result.stage, failedAttempts: failedAttempts,
               queuedAt: queuedAt, now: now, schedule: schedule, classifier: classifier, using: &generator)
    }

    /// The event type: "delivered", "deferred" or "bounced". Pure; any caller.
    public var eventType: String {
        switch verdict {
        case .delivered: return "delivered"
        case .deferred: return "deferred"
        case .bounced: return "bounced"
        }
    }

    /// Event `smtpCode`. Pure; any caller.
    public var smtpCode: Int { reply.code }
    /// Event `enhancedCode` ("5.1.1"), when known. Pure; any caller.
    public var enhancedCode: String? { reply.enhancedCode?.description }
    /// Event `response`: the full reply as one line. Pure; any caller.
    public var response: String { reply.description }
    /// Event `bounceClass` (kebab-case), nil when delivered. Pure; any caller.
    public var bounceClass: String? { classification?.bounceClass.rawValue }
}
