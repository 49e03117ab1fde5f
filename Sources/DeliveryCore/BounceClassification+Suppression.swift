extension BounceClassification {
    /// True when the failure says the recipient address itself is bad (a hard bad-mailbox or
    /// bad-domain), the only failures that may put an address on a suppression list. Security and
    /// policy failures (enhanced code X.7.X) never classify so. Pure; any caller.
    public var suppressesRecipient: Bool {
        hardness == .hard && (bounceClass == .badMailbox || bounceClass == .badDomain)
    }
}
