import SpoolStore

/// The delivery engine's view of the replicated log when abuse detection is on: forwards every
/// command unchanged and, once a delivery outcome is committed, shows each recipient's result
/// (delivered, or bounced/blocked) to the abuse detector under the message's credential. The
/// credential is read from the stored message before the outcome is proposed (a final outcome
/// removes it). Thread-safe; adds one LMDB read per outcome.
struct OutcomeObservingLog: ReplicatedLog {
    let base: any ReplicatedLog
    let store: SpoolStore
    let limits: SendingLimiter

    /// The wrapped log's entry format. Any thread.
    var entryFormat: UInt8 { base.entryFormat }

    func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void) {
        guard case .outcome(let outcome) = command,
              let message = try? store.message(id: outcome.queueID), !message.authUser.isEmpty else {
            return base.propose(command, completion: completion)
        }
        let limits = self.limits
        let (user, tenant) = (message.authUser, message.tenant)
        base.propose(command) { result in
            if case .success = result {
                for r in outcome.results {
                    switch r.disposition {
                    case .delivered: limits.outcome(user: user, tenant: tenant, bounced: false)
                    case .bounced: limits.outcome(user: user, tenant: tenant, bounced: true)
                    default: break
                    }
                }
            }
            completion(result)
        }
    }
}
