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
    /// `acceptedRecipients` recipients (0 when unknown), whose enhanced status code was `enhancedCode`.
    /// A hard bad-mailbox or bad-domain reply to DATA or to the message (end of data, BDAT) of a
    /// transaction with exactly one accepted recipient can only be about that recipient or the message as
    /// a whole (receivers that check the mailbox only after DATA answer "550 5.1.1 User unknown" there),
    /// so it suppresses as at RCPT TO, but only when its enhanced code names a recipient address
    /// (`namesRecipientAddress`: X.1.1, X.1.2, X.1.3, X.1.6, X.1.10): at the end of data a reply whose
    /// class comes from wording alone (a bare 553, "header From domain does not exist") is as likely to
    /// be about a header or the sender, and a suppression lasts. With two or more accepted recipients it
    /// speaks for the transaction and suppresses nobody. Only the address classes count: a reply with an
    /// X.7.X code never gets one. Pure; any caller.
    public func suppressesRecipient(acceptedRecipients: Int, enhancedCode: EnhancedStatusCode? = nil) -> Bool {
        guard hardness == .hard, bounceClass.namesAddress else { return false }
        switch stage {
        case nil, .recipient?: return true
        case .data?, .body?: return acceptedRecipients == 1 && Self.namesRecipientAddress(enhancedCode)
        default: return false
        }
    }

    /// Whether an enhanced status code is about a recipient address (RFC 3463 X.1.1 bad destination
    /// mailbox, X.1.2 bad destination system, X.1.3 bad destination mailbox syntax, X.1.6 mailbox moved,
    /// X.1.10 recipient address has null MX). Pure; any caller.
    public static func namesRecipientAddress(_ code: EnhancedStatusCode?) -> Bool {
        guard let code, code.subject == 1 else { return false }
        return [1, 2, 3, 6, 10].contains(code.detail)
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
