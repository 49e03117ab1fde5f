extension RelayConfig {
    /// `dkim`: sending domains and their signatures.
    public struct DKIM: Sendable, Codable, Equatable {
        /// File with the key (32 bytes or more, any content) that seals DKIM private keys in the
        /// replicated registry. nil: derived from `cluster.secretFile` in a cluster, else
        /// `dataDir/dkim.key` (created on first start, mode 0600). Every node of a cluster must
        /// use the same key.
        public var keyFile: String? = nil
        /// Seconds between re-checks of every domain's published records (the leader runs them).
        public var recheckSeconds = 3_600
        /// Days a retired key's record stays published (and verifying) after a rotation.
        public var rotationGraceDays = 7
        /// Sender policy of tenants without their own setting: `enforce`, `sign-only` or `off`.
        public var defaultSenderPolicy = "sign-only"
        /// Key types generated for a new domain or rotation (both by default: dual signatures).
        public var algorithms = ["rsa", "ed25519"]

        /// Creates the defaults.
        public init() {}
    }

    static func decodeDKIM(_ o: inout ConfigReader, into d: inout DKIM) {
        d.keyFile = o.string("keyFile")
        d.recheckSeconds = o.int("recheckSeconds", default: d.recheckSeconds)
        d.rotationGraceDays = o.int("rotationGraceDays", default: d.rotationGraceDays)
        d.defaultSenderPolicy = o.string("defaultSenderPolicy", default: d.defaultSenderPolicy)
        if let list = o.strings("algorithms") { d.algorithms = list.map(\.value) }
        o.finish()
    }

    func validateDKIM(_ p: ConfigProblems) {
        RelayConfig.checkRange(dkim.recheckSeconds, 60...604_800, "dkim.recheckSeconds", p)
        RelayConfig.checkRange(dkim.rotationGraceDays, 0...365, "dkim.rotationGraceDays", p)
        if !["enforce", "sign-only", "off"].contains(dkim.defaultSenderPolicy) {
            p.error("dkim.defaultSenderPolicy", "'\(dkim.defaultSenderPolicy)' is not one of enforce, sign-only, off")
        }
        if dkim.algorithms.isEmpty || !dkim.algorithms.allSatisfy({ $0 == "rsa" || $0 == "ed25519" }) {
            p.error("dkim.algorithms", "must list rsa and/or ed25519")
        }
        if Set(dkim.algorithms).count != dkim.algorithms.count {
            p.error("dkim.algorithms", "lists an algorithm twice")
        }
    }
}
