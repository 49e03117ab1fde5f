import DeliveryCore

/// Why this node ended a delivery attempt itself before the receiver had the message: reasons
/// that say nothing about the receiver. The recipients are deferred for
/// `RetrySchedule.localRetryDelay` (not the receiver-deferral steps), no throttle, warm-up or
/// failure count learns from it, and the event's response and the `delivery.local_abort` log
/// line say it was local.
///
/// Pure value; any thread.
enum LocalAbort: String, Sendable {
    /// The committed lease would end within the commit margin before anything was sent: the claim
    /// or its renewal committed late (a leader change, a partition, follower apply lag).
    case leaseExpiredBeforeSending = "lease-expired-before-sending"
    /// The commit gate held the body back after the receiver took the envelope: the committed
    /// lease had less than the commit margin left, so the connection was dropped before the end
    /// of data (the receiver discards the transaction).
    case leaseTooShortForBody = "lease-too-short-for-body"

    /// The class of the deferral (event `bounceClass`), whatever the reply's wording: the lease ran
    /// out, as a timeout of this node.
    var bounceClass: BounceClass { .timeout }

    /// The local reply recorded for the recipients without a result (event `response`).
    var reply: SMTPReply {
        switch self {
        case .leaseExpiredBeforeSending:
            return SMTPReply(451, EnhancedStatusCode(4, 3, 0),
                             "delivery lease expired before sending (local to this relay, not the receiver's answer)")
        case .leaseTooShortForBody:
            return SMTPReply(451, EnhancedStatusCode(4, 3, 0),
                             "delivery lease too short to send the body, transaction dropped before the end of data"
                                 + " (local to this relay, not the receiver's answer)")
        }
    }
}
