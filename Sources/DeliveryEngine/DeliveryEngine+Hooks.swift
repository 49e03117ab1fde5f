import SpoolStore

extension DeliveryEngine {
    /// Per-message decisions the node makes for the delivery shell (VERP return paths, sandbox and
    /// simulator routing). Each is called on the coordinator's queue and must not block.
    public struct Hooks: Sendable {
        /// The envelope sender a transaction to `recipients` of `message` leaves with (a VERP
        /// address), or nil to keep the message's own sender.
        public var returnPath: (@Sendable (_ message: StoredMessage, _ recipients: [StoredMessage.RecipientState]) -> String?)?
        /// The domain whose route a transaction to `domain` takes instead (sandboxed users' mail
        /// goes to the simulator's domain), or nil for the usual route.
        public var routeDomain: (@Sendable (_ message: StoredMessage, _ domain: String) -> String?)?
        /// True when `address` is to be treated as suppressed although it is on no list (the
        /// simulator's suppression-list address).
        public var simulatedSuppression: (@Sendable (_ address: String) -> Bool)?
        /// Told of every message record the recovery pull of `destination` reads (tests count
        /// them: a pull reads its own destination's postponed mail only).
        public var pullRead: (@Sendable (_ queueID: String, _ destination: String) -> Void)?

        /// No hooks: senders and routes as they are.
        public init() {}
    }
}
