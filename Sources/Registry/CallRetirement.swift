/// Pending calls of one batch moved to the finished calls by a batch result (log entry format
/// 5): each record `hookcall/<endpoint>/<sequence>` goes, and `hookdone/<endpoint>/<sequence>`
/// holds the same call with the batch's status, attempts and history, no lease, and the batch
/// reference. `RegistryMachine` decides which calls move and with what; the store rewrites the
/// stored bytes (`WebhookCall.retiredRecord`) rather than decoding and encoding every call with
/// its event. Pure value; any thread.
public struct CallRetirement: Sendable, Equatable {
    public var endpoint: String
    /// The calls that move, each found pending when the command applied.
    public var sequences: [UInt64]
    public var status: WebhookCall.Status
    public var attempts: UInt32
    public var history: [WebhookCall.Attempt]
    public var batch: WebhookCall.Batch?

    /// Creates a retirement. Any thread.
    public init(endpoint: String, sequences: [UInt64], status: WebhookCall.Status, attempts: UInt32,
                history: [WebhookCall.Attempt], batch: WebhookCall.Batch?) {
        self.endpoint = endpoint
        self.sequences = sequences
        self.status = status
        self.attempts = attempts
        self.history = history
        self.batch = batch
    }

    /// The finished call of `call` (the whole pending call, event included).
    public func finished(_ call: WebhookCall) -> WebhookCall {
        var call = call
        call.status = status
        call.attempts = attempts
        call.history = history
        call.lease = nil
        call.batch = batch
        return call
    }

    /// The writes this retirement makes, from the pending calls in `current` (whole calls, not
    /// heads): for a store of decoded records (tests), and the record-by-record way.
    public func writes(current: [String: RegistryRecord]) -> [(key: String, record: RegistryRecord?)] {
        var out: [(key: String, record: RegistryRecord?)] = []
        for seq in sequences {
            let key = RegistryKeys.webhookPending(endpoint, seq)
            guard let call = current[key]?.webhookCall else { continue }
            out.append((key, nil))
            out.append((RegistryKeys.webhookDone(endpoint, seq), .webhookCall(finished(call))))
        }
        return out
    }
}

extension RegistryMachine.Transition {
    /// `writes`, then the writes of `retirements` made from the whole calls in `current`: every
    /// record the transition changes, for a store of decoded records (tests).
    public func allWrites(current: [String: RegistryRecord]) -> [(key: String, record: RegistryRecord?)] {
        writes + retirements.flatMap { $0.writes(current: current) }
    }
}
