/// The webhook commands of log entry format 5: leases and results per batch record
/// (`WebhookBatch`) instead of per call, so a call is written once when its event is recorded and
/// once when it is retired, whatever the number of attempts. Pure values; any thread.
extension WebhookCommand {
    /// Leases batches of one endpoint to `owner` until `expiresAt`: the formed batches named by
    /// their first sequence (as they are: same calls, same id), and new batches cut from `fresh`
    /// (pending calls never leased, above the endpoint's batch mark) in groups of `sizes`.
    /// A batch is leased whole or not at all; the proposer reads back which ones it got.
    public struct BatchLease: Codable, Sendable, Equatable {
        public var endpoint: String
        public var owner: String
        public var incarnation: UInt64
        public var issuedAt: Int64
        public var expiresAt: Int64
        /// First sequences of formed batches to lease again.
        public var formed: [UInt64]
        /// Calls for new batches, ascending, cut into consecutive groups of `sizes`.
        public var fresh: [UInt64]
        public var sizes: [UInt32]
        /// New batches go as JSON arrays (false: each call alone as one object; `sizes` all 1).
        public var array: Bool

        /// Creates a batch lease. Any thread.
        public init(endpoint: String, owner: String, incarnation: UInt64, issuedAt: Int64, expiresAt: Int64,
                    formed: [UInt64], fresh: [UInt64], sizes: [UInt32], array: Bool) {
            self.endpoint = endpoint
            self.owner = owner
            self.incarnation = incarnation
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
            self.formed = formed
            self.fresh = fresh
            self.sizes = sizes
            self.array = array
        }

        /// `fresh` cut into `sizes` (nil when the sizes do not add up or one is 0).
        public var freshGroups: [ArraySlice<UInt64>]? {
            guard sizes.reduce(0, { $0 + Int($1) }) == fresh.count, !sizes.contains(0) else { return nil }
            var out: [ArraySlice<UInt64>] = []
            var at = 0
            for n in sizes {
                out.append(fresh[at..<(at + Int(n))])
                at += Int(n)
            }
            return out
        }
    }

    /// One batch POST's result: the batch (first sequence, and its calls as the sender leased
    /// them), the attempt and its verdict.
    public struct BatchResult: Codable, Sendable, Equatable {
        public var first: UInt64
        public var sequences: [UInt64]
        public var attempt: WebhookCall.Attempt
        public var verdict: Verdict

        /// Creates a batch result. Any thread.
        public init(first: UInt64, sequences: [UInt64], attempt: WebhookCall.Attempt, verdict: Verdict) {
            self.first = first
            self.sequences = sequences
            self.attempt = attempt
            self.verdict = verdict
        }
    }

    /// Results of batch POSTs made under leases of `owner`/`incarnation`; stale ones are ignored.
    public struct BatchResults: Codable, Sendable, Equatable {
        public var endpoint: String
        public var owner: String
        public var incarnation: UInt64
        public var results: [BatchResult]

        /// Creates batch results. Any thread.
        public init(endpoint: String, owner: String, incarnation: UInt64, results: [BatchResult]) {
            self.endpoint = endpoint
            self.owner = owner
            self.incarnation = incarnation
            self.results = results
        }
    }

    /// True for the commands that need log entry format 5 (batch records).
    public var needsBatchRecords: Bool {
        switch self {
        case .leaseBatches, .batchResults: true
        default: false
        }
    }
}
