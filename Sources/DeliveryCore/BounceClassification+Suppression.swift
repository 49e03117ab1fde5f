extension BounceClassification {
    /// True when the failure says the recipient address itself is bad (a hard bad-mailbox or
    /// bad-domain), the only failures that may put an address on a suppression list. Security and
    /// policy failures (enhanced code X.7.X) never classify so. In an SMTP session only a reply to RCPT
    /// TO is about one recipient: a reply at connect, EHLO, STARTTLS, AUTH or MAIL FROM is about the
    /// sender or the connection (`BounceClassifier.classify(_:at:)` gives it no address class), and a
    /// reply to DATA or to the message speaks for every recipient of the transaction at once, so
    /// neither suppresses (`stage` nil: not from a session, e.g. a DSN's per-recipient status). When the
    /// number of recipients the transaction accepted is known, see `suppressesRecipient(acceptedRecipients:)`.
    /// Pure; any caller.
    public var suppressesRecipient: Bool { suppressesRecipient(acceptedRecipients: 0) }

    /// `suppressesRecipient` for a reply of a transaction whose RCPT TO the receiver accepted for
    /// `acceptedRecipients` recipients (0 when unknown). A hard bad-mailbox or bad-domain reply to DATA or
    /// to the message (end of data, BDAT) of a transaction with exactly one accepted recipient can only
    /// be about that recipient or the message as a whole (receivers that check the mailbox only after
    /// DATA answer "550 5.1.1 User unknown" there), so it suppresses as at RCPT TO; with two or more it
    /// speaks for the transaction and suppresses nobody. Only the address classes count: a reply with an
    /// X.7.X code never gets one, and a policy, spam-content or reputation refusal never suppresses.
    /// Pure; any caller.
    public func suppressesRecipient(acceptedRecipients: Int) -> Bool {
        guard hardness == .hard, bounceClass.namesAddress else { return false }
        switch stage {
        case nil, .recipient?: return true
        case .data?, .body?: return acceptedRecipients == 1
        default: return false
        }
    }

    /// True when a soft failure of this kind, repeated until the message outlived the queue
    /// lifetime, may put the address on a suppression list: only when it named the address itself
    /// (a temporary bad-mailbox or bad-domain such as `450 4.1.1`) at RCPT TO, at DATA or after the
    /// message, or outside a session. A deferral that says nothing about the address (a provider
    /// outage, a rate limit, an IP block, a full mailbox) that outlasts the lifetime bounces the
    /// message but suppresses nobody: one long outage must not suppress every recipient at a provider.
    /// Unlike `suppressesRecipient`, DATA-stage replies count: an expiry found at the start of an
    /// attempt knows only the recipient's stored last class (not its stage), and this rule gives both
    /// paths the same answer (replies before RCPT TO never carry an address class:
    /// `BounceClassifier.classify(_:at:)`). Pure; any caller.
    public var suppressesRecipientOnExpiry: Bool {
        if let stage, BounceClassifier.isSessionStage(stage) { return false }
        return bounceClass.namesAddress
    }
}
