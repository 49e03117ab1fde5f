extension RelayConfig.Webhooks {
    /// `webhooks.batch`: events per POST. When several calls of an endpoint are due together (they
    /// piled up while others were in flight, or while the dispatcher waited `maxDelayMillis`),
    /// one POST carries up to `maxEvents` of them as a JSON array under one `webhook-id`, each
    /// event with its own `webhookId` and `sequence`. A lone event goes at once (as an array of
    /// one). `maxEvents: 1` sends every event alone as a JSON object, as before batching.
    public struct Batch: Sendable, Codable, Equatable {
        /// Most events in one POST (1-1000). Endpoints may set their own (`batchMaxEvents`).
        public var maxEvents = 100
        /// How long a due call may wait for more to join its batch while the endpoint already has
        /// a request in flight, milliseconds (0: never wait).
        public var maxDelayMillis = 0

        /// Creates the defaults.
        public init() {}
    }
}

extension RelayConfig {
    static func decodeWebhookBatch(_ o: inout ConfigReader, into b: inout Webhooks.Batch) {
        b.maxEvents = o.int("maxEvents", default: b.maxEvents)
        b.maxDelayMillis = o.int("maxDelayMillis", default: b.maxDelayMillis)
        o.finish()
    }

    func validateWebhookBatch(_ p: ConfigProblems) {
        RelayConfig.checkRange(webhooks.batch.maxEvents, 1...1000, "webhooks.batch.maxEvents", p)
        RelayConfig.checkRange(webhooks.batch.maxDelayMillis, 0...10_000, "webhooks.batch.maxDelayMillis", p)
    }
}
