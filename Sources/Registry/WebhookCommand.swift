/// Control-plane changes about webhooks, carried by `RegistryCommand.webhook`: endpoint edits
/// (operator) and the life of outbox calls (lease, result, replay) proposed by the dispatching
/// node. Every time comes from the command. Pure value; any thread.
public enum WebhookCommand: Codable, Sendable, Equatable {
    /// Adds an endpoint (refused if the id exists).
    case create(WebhookEndpoint)
    /// Changes the given fields of an endpoint.
    case update(Update)
    /// Removes an endpoint with its outbox.
    case delete(id: String, at: Int64)
    /// Makes `secret` the current secret; the previous ones keep signing until `graceUntil`.
    case rotateSecret(id: String, secret: String, graceUntil: Int64, at: Int64)
    /// Pause (true) or resume (false). Resuming also re-enables a disabled (410) or failing endpoint.
    case setPaused(id: String, paused: Bool, at: Int64)
    /// Leases due pending calls of `endpoint` to `owner`; calls not due or leased by someone
    /// else are left alone (the proposer reads back which ones it got).
    case claim(Claim)
    /// Records attempt results; stale ones (the lease moved on) are ignored.
    case results(Results)
    /// Makes finished calls (delivered or failed) pending again, same `webhook-id`.
    case replay(endpoint: String, sequences: [UInt64], at: Int64)
    /// Leases batch records, forming new ones (log entry format 5; `WebhookCommand+Batches`).
    case leaseBatches(BatchLease)
    /// Records batch POST results (log entry format 5; `WebhookCommand+Batches`).
    case batchResults(BatchResults)

    /// Fields an update may change (nil: unchanged).
    public struct Update: Codable, Sendable, Equatable {
        public var id: String
        public var url: String?
        public var events: [String]?
        public var maxConcurrency: Int?
        public var ratePerSecond: Int?
        /// Events per POST; 0 goes back to the config default (`webhooks.batch.maxEvents`).
        public var batchMaxEvents: Int?
        public var at: Int64

        /// Creates an update. Any thread.
        public init(id: String, url: String? = nil, events: [String]? = nil, maxConcurrency: Int? = nil,
                    ratePerSecond: Int? = nil, batchMaxEvents: Int? = nil, at: Int64) {
            self.id = id
            self.url = url
            self.events = events
            self.maxConcurrency = maxConcurrency
            self.ratePerSecond = ratePerSecond
            self.batchMaxEvents = batchMaxEvents
            self.at = at
        }
    }

    /// A lease request for some pending calls.
    public struct Claim: Codable, Sendable, Equatable {
        public var endpoint: String
        public var sequences: [UInt64]
        public var owner: String
        public var incarnation: UInt64
        public var issuedAt: Int64
        public var expiresAt: Int64
        /// How `sequences` go out as POSTs: consecutive groups of these sizes, each one batch
        /// (`WebhookCall.batch`), leased all together or not at all. Nil: every call alone (and
        /// the log entry readable by builds before batching, log entry format 3).
        public var batches: [UInt32]?

        /// Creates a claim. Any thread.
        public init(endpoint: String, sequences: [UInt64], owner: String, incarnation: UInt64, issuedAt: Int64,
                    expiresAt: Int64, batches: [UInt32]? = nil) {
            self.endpoint = endpoint
            self.sequences = sequences
            self.owner = owner
            self.incarnation = incarnation
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
            self.batches = batches
        }

        /// `sequences` cut into `batches` (each call alone when there are none, or when the
        /// sizes do not add up to the sequences).
        public var groups: [ArraySlice<UInt64>] {
            guard let batches, batches.reduce(0, { $0 + Int($1) }) == sequences.count, !batches.contains(0) else {
                return sequences.indices.map { sequences[$0...$0] }
            }
            var out: [ArraySlice<UInt64>] = []
            var at = 0
            for n in batches {
                out.append(sequences[at..<(at + Int(n))])
                at += Int(n)
            }
            return out
        }
    }

    /// What one attempt led to.
    public enum Verdict: Codable, Sendable, Equatable {
        /// 2xx.
        case delivered
        /// Try again at this time.
        case retry(at: Int64)
        /// 410 Gone: the endpoint is disabled; the call stays pending for after a resume.
        case gone
        /// The retry schedule is used up: the call fails, the endpoint is marked failing.
        case exhausted
    }

    /// One attempt's result.
    public struct Result: Codable, Sendable, Equatable {
        public var sequence: UInt64
        public var attempt: WebhookCall.Attempt
        public var verdict: Verdict

        /// Creates a result. Any thread.
        public init(sequence: UInt64, attempt: WebhookCall.Attempt, verdict: Verdict) {
            self.sequence = sequence
            self.attempt = attempt
            self.verdict = verdict
        }
    }

    /// Results of attempts made under leases of `owner`/`incarnation`.
    public struct Results: Codable, Sendable, Equatable {
        public var endpoint: String
        public var owner: String
        public var incarnation: UInt64
        public var results: [Result]

        /// Creates results. Any thread.
        public init(endpoint: String, owner: String, incarnation: UInt64, results: [Result]) {
            self.endpoint = endpoint
            self.owner = owner
            self.incarnation = incarnation
            self.results = results
        }
    }

    /// True for a claim that puts calls in batches (log entry format 4).
    public var isBatchedClaim: Bool {
        if case .claim(let c) = self, c.batches != nil { return true }
        return false
    }

    /// The command as readers of log entry format `format` take it: below 4 a claim loses its
    /// batches (every call then goes alone, on every node alike).
    public func downgraded(format: UInt8) -> WebhookCommand {
        guard format < 4, case .claim(var c) = self, c.batches != nil else { return self }
        c.batches = nil
        return .claim(c)
    }

    /// The endpoint the command is about.
    public var endpointID: String {
        switch self {
        case .create(let e): e.id
        case .update(let u): u.id
        case .delete(let id, _), .rotateSecret(let id, _, _, _), .setPaused(let id, _, _): id
        case .claim(let c): c.endpoint
        case .results(let r): r.endpoint
        case .replay(let id, _, _): id
        case .leaseBatches(let l): l.endpoint
        case .batchResults(let r): r.endpoint
        }
    }

    /// The record keys this command reads and may write.
    public var keys: [String] {
        let id = endpointID
        let endpoint = RegistryKeys.webhook(id)
        switch self {
        case .claim(let c): return [endpoint] + c.sequences.map { RegistryKeys.webhookPending(id, $0) }
        case .results(let r): return [endpoint] + r.results.map { RegistryKeys.webhookPending(id, $0.sequence) }
        case .replay(_, let seqs, _): return [endpoint] + seqs.map { RegistryKeys.webhookDone(id, $0) }
        case .leaseBatches(let l):
            return [endpoint, RegistryKeys.webhookMark(id)] + l.formed.map { RegistryKeys.webhookBatch(id, $0) }
                + l.fresh.map { RegistryKeys.webhookPending(id, $0) }
                + (l.freshGroups ?? []).compactMap { $0.first.map { RegistryKeys.webhookBatch(id, $0) } }
        case .batchResults(let r):
            return [endpoint] + r.results.flatMap { x in
                [RegistryKeys.webhookBatch(id, x.first)] + x.sequences.map { RegistryKeys.webhookPending(id, $0) }
            }
        default: return [endpoint]
        }
    }
}

extension RegistryKeys {
    /// `webhook/<id>`: an endpoint.
    public static func webhook(_ id: String) -> String { webhookPrefix + id }
    /// The prefix of every endpoint record.
    public static let webhookPrefix = "webhook/"
    /// `hookcall/<id>/<sequence, 20 digits>`: a pending call (key order = event order).
    public static func webhookPending(_ id: String, _ sequence: UInt64) -> String {
        sequenceKey("hookcall/", id, sequence)
    }
    /// `webhookPending(id, sequence)` as bytes (no string).
    public static func webhookPendingKey(_ id: String, _ sequence: UInt64) -> [UInt8] {
        sequenceKeyBytes("hookcall/", id, sequence)
    }
    /// `webhookDone(id, sequence)` as bytes (no string).
    public static func webhookDoneKey(_ id: String, _ sequence: UInt64) -> [UInt8] {
        sequenceKeyBytes("hookdone/", id, sequence)
    }
    /// `hookdone/<id>/<sequence>`: a delivered or failed call, kept for replays and `attempts`.
    public static func webhookDone(_ id: String, _ sequence: UInt64) -> String { sequenceKey("hookdone/", id, sequence) }
    /// The prefix of an endpoint's pending calls.
    public static func webhookPendingPrefix(_ id: String) -> String { "hookcall/" + id + "/" }
    /// The prefix of an endpoint's finished calls.
    public static func webhookDonePrefix(_ id: String) -> String { "hookdone/" + id + "/" }

    /// `<head><id>/<n, 20 digits>` written into one string (no intermediate strings: every call
    /// key of a command is built while the command applies, several times).
    static func sequenceKey(_ head: StaticString, _ id: String, _ n: UInt64) -> String {
        var id = id
        return id.withUTF8 { idBytes in
            String(unsafeUninitializedCapacity: sequenceKeyCount(head, idBytes)) { writeSequenceKey(head, idBytes, n, into: $0) }
        }
    }

    /// `sequenceKey` as bytes.
    static func sequenceKeyBytes(_ head: StaticString, _ id: String, _ n: UInt64) -> [UInt8] {
        var id = id
        return id.withUTF8 { idBytes in
            let count = sequenceKeyCount(head, idBytes)
            return [UInt8](unsafeUninitializedCapacity: count) { buf, written in
                written = writeSequenceKey(head, idBytes, n, into: buf)
            }
        }
    }

    private static func sequenceKeyCount(_ head: StaticString, _ idBytes: UnsafeBufferPointer<UInt8>) -> Int {
        head.utf8CodeUnitCount + idBytes.count + 1 + 20
    }

    /// Writes the key into `buf` (`sequenceKeyCount` bytes); returns the count.
    private static func writeSequenceKey(_ head: StaticString, _ idBytes: UnsafeBufferPointer<UInt8>, _ n: UInt64,
                                         into buf: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let count = sequenceKeyCount(head, idBytes)
        var at = 0
        for i in 0..<head.utf8CodeUnitCount { buf[at] = head.utf8Start[i]; at += 1 }
        for b in idBytes { buf[at] = b; at += 1 }
        buf[at] = UInt8(ascii: "/")
        var v = n
        for i in stride(from: count - 1, through: at + 1, by: -1) {
            buf[i] = 0x30 &+ UInt8(v % 10)
            v /= 10
        }
        return count
    }
}
