import DeliveryCore
import SpoolStore

/// Cluster mode: due messages that are another member's work are remembered (`ForeignClaims`) so
/// that the passes that follow skip them without reading each message again.
extension DeliveryCoordinator {
    /// Whether this pass skips `id` as another member's work. `owners` caches, for this pass,
    /// whether a domain maps to this node. Scheduler queue.
    func skipsForeign(_ id: String, now: Int64, owners: inout [String: Bool]) -> Bool {
        guard foreign.count > 0 else { return false }
        return foreign.skips(id, now: now) { domain in
            if let mine = owners[domain] { return mine }
            let mine = options.preferredOwner?(domain) == nodeID
            owners[domain] = mine
            return mine
        }
    }

    /// Remembers that `id` is not this node's now: its domain maps elsewhere (`domain`), or another
    /// member's live lease holds it (`domain` nil). It is read again after `foreignRecheckSeconds`
    /// at most, and no later than the moment an expired `lease` makes it an orphan this node may
    /// take over, or a live one runs out. Scheduler queue.
    func noteForeign(_ id: String, domain: String?, lease: StoredMessage.Lease?, now: Int64) {
        let grace = Int64(options.orphanGraceSeconds * 1000)
        var recheck = now + Int64(options.foreignRecheckSeconds * 1000)
        if let lease {
            recheck = min(recheck, lease.expiresAt > now ? lease.expiresAt : lease.expiresAt + grace + 1)
        }
        foreign.note(id, domain: domain, recheckAt: max(recheck, now + 1), now: now)
    }
}
