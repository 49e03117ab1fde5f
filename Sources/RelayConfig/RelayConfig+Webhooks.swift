extension RelayConfig {
    /// `webhooks`: delivery of events to tenants' webhook endpoints (the endpoints themselves are
    /// records of the replicated control plane, managed through `/v1/webhooks`).
    public struct Webhooks: Sendable, Codable, Equatable {
        /// Networks (CIDR) that endpoints may call although they are private, loopback or
        /// link-local. Empty by default: such addresses are refused (SSRF protection).
        public var allowedPrivateNetworks: [IPNetwork] = []
        /// Delays in milliseconds after the 1st, 2nd, … failed attempt of a call; after the last
        /// one the call fails and the endpoint is marked failing. Default 5 s, 5 min, 30 min, 2 h,
        /// 5 h, 10 h, 14 h, 20 h, 24 h (about three days). Short schedules are for tests.
        public var retryScheduleMillis: [Int] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000,
                                                 50_400_000, 72_000_000, 86_400_000]
        /// Random spread of each delay (0.2: ±20 %).
        public var retryJitter = 0.2
        /// Seconds an HTTP call may take (connect, TLS, request, answer) before it counts as failed.
        public var timeoutSeconds = 10.0
        /// Seconds a node holds the lease of the calls it sends; after it, another node may send
        /// them (the node died). Must exceed `timeoutSeconds`.
        public var leaseSeconds = 30
        /// How often the dispatcher looks for due calls, milliseconds.
        public var pollMillis = 200
        /// File of CA certificates for HTTPS endpoints (PEM); nil: the system store.
        public var caFile: String? = nil
        /// `webhooks.batch`: how many events one POST may carry (a JSON array), for endpoints
        /// that do not set their own.
        public var batch = Batch()

        /// Creates the defaults.
        public init() {}
    }

    static func decodeWebhooks(_ o: inout ConfigReader, into w: inout Webhooks) {
        if let list = o.strings("allowedPrivateNetworks") {
            w.allowedPrivateNetworks = []
            for item in list {
                switch IPNetwork.parse(item.value) {
                case .success(let n): w.allowedPrivateNetworks.append(n)
                case .failure(let f): o.problems.error(item.path, "'\(item.value)' is not a CIDR network: \(f)")
                }
            }
        }
        if let steps = o.ints("retryScheduleMillis") { w.retryScheduleMillis = steps }
        w.retryJitter = o.double("retryJitter", default: w.retryJitter)
        w.timeoutSeconds = o.double("timeoutSeconds", default: w.timeoutSeconds)
        w.leaseSeconds = o.int("leaseSeconds", default: w.leaseSeconds)
        w.pollMillis = o.int("pollMillis", default: w.pollMillis)
        w.caFile = o.string("caFile")
        if var b = o.object("batch") { decodeWebhookBatch(&b, into: &w.batch) }
        o.finish()
    }

    func validateWebhooks(_ p: ConfigProblems) {
        let w = webhooks
        if w.retryScheduleMillis.isEmpty || w.retryScheduleMillis.count > 50 {
            p.error("webhooks.retryScheduleMillis", "must list 1-50 delays in milliseconds")
        }
        for (i, step) in w.retryScheduleMillis.enumerated() {
            RelayConfig.checkRange(step, 10...604_800_000, "webhooks.retryScheduleMillis[\(i)]", p)
        }
        if !(0...0.9).contains(w.retryJitter) { p.error("webhooks.retryJitter", "must be between 0 and 0.9") }
        if !(0.1...300).contains(w.timeoutSeconds) { p.error("webhooks.timeoutSeconds", "must be 0.1-300 seconds") }
        RelayConfig.checkRange(w.leaseSeconds, 1...86_400, "webhooks.leaseSeconds", p)
        if Double(w.leaseSeconds) <= w.timeoutSeconds {
            p.error("webhooks.leaseSeconds", "must be longer than webhooks.timeoutSeconds")
        }
        RelayConfig.checkRange(w.pollMillis, 10...60_000, "webhooks.pollMillis", p)
        validateWebhookBatch(p)
    }
}
