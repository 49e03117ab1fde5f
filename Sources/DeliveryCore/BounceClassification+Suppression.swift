extension BounceClassification {
    /// True when the failure says the recipient address itself is bad (a hard bad-mailbox or
    /// bad-domain), the only failures that may put an address on a suppression list. Security and
    /// policy failures (enhanced code X.7.X) never classify so. In an SMTP session only a reply to RCPT
    /// TO is about one recipient: a reply at connect, EHLO, STARTTLS, AUTH or MAIL FROM is about the
    /// sender or the connection (`BounceClassifier.classify(_:at:)` gives it no address class), and a
    /// reply to DATA or to the message speaks for every recipient of the transaction at once, so
    /// neither suppresses (`stage` nil: not from a session, e.g. a DSN's per-recipient status). Pure; any caller.
    public var suppressesRecipient: Bool {
        guard stage == nil || stage == .recipient else { return false }
        return hardness == .hard && bounceClass.namesAddress
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
