import Foundation

/// Format versions of log entries, and how a mixed-version cluster stays readable.
///
/// Versions: 1 — every command (an outcome without sending IP and pool); 2 — an outcome whose
/// results carry sending IP and pool; 3 — a webhook lease or results command as a binary record
/// (`WebhookCommand+Codec`) instead of JSON; 4 — a batched postpone (`SpoolCommand+Postpone`), and a
/// webhook lease that puts calls in batches (one POST for several events); both came in the same
/// release, so a reader of 4 reads both; 5 — webhook leases and results per batch record
/// (`WebhookCommand+Batches`: a call is written when its event is recorded and when it is retired,
/// not at every lease and result; below 5 they become a no-op and the dispatcher uses the per-call
/// commands), and a batched postpone whose items carry the due time the scheduler saw (tag 14), so
/// a late batch does not undo an operator's "retry now"; both came in the same release, so a
/// reader of 5 reads both; 6 — a batched pull forward (`SpoolCommand+PullForward`, tag 15: a
/// recovery pull makes many postponed messages due in one entry; below 6 it becomes a no-op, and
/// the scheduler proposes one `reschedule` per message instead). A reader accepts every version up to its own
/// `formatVersion` and refuses a newer one by name. A writer uses the oldest version that holds
/// the command, never above the cluster's effective version: the lowest `formatVersion` among
/// the members (each advertises its own when it connects; see `RaftLog.effectiveFormat`). So
/// during a rolling upgrade the upgraded nodes keep writing what the old ones read, and start
/// writing the new version once the last member runs a build that reads it.
extension SpoolCommand {
    /// The version `encoded(format:)` writes: 6 for a pull forward, 5 for a postpone whose items carry the due time seen, 4
    /// for another postpone or a webhook lease with batches, 3 for a webhook
    /// lease or results command, 2 for an outcome with a sending IP or pool, when `format` allows
    /// it; else 1. Pure; any thread.
    public func encodingVersion(format: UInt8) -> UInt8 {
        if case .pullForward = self { return 6 }
        if case .postpone(let p) = self { return format >= 5 && p.checksSeen ? 5 : 4 }
        if format >= 5, case .registry(.webhook(let w)) = self, w.needsBatchRecords { return 5 }
        if format >= 4, case .registry(let c) = self, c.isBatchedWebhookClaim { return 4 }
        if format >= 3, case .registry(let c) = self, c.hasBinaryForm { return 3 }
        if format >= 2, case .outcome(let o) = self, o.results.contains(where: { !$0.sendingIP.isEmpty || !$0.pool.isEmpty }) {
            return 2
        }
        return 1
    }

    /// `bytes` (a command this build reads) re-encoded for readers of at most version `format`, or
    /// nil when they already read it. Used by a leader on proposals written for a newer effective
    /// version than the cluster's current one. Pure; any thread.
    public static func downgraded(_ bytes: [UInt8], to format: UInt8) -> [UInt8]? {
        guard let v = bytes.first, v > format, let c = try? SpoolCommand(decoding: bytes) else { return nil }
        return c.encoded(format: format)  // a command `format` cannot hold becomes a no-op there
    }

    /// `SENDARIX_TEST_FORMAT_VERSION` (1 to 6): makes this build read and write no newer version
    /// than that, as an older release would (test-only: mixed-version clusters from one binary).
    static let testFormatOverride: UInt8? = {
        guard let text = ProcessInfo.processInfo.environment["SENDARIX_TEST_FORMAT_VERSION"],
              let v = UInt8(text), v >= 1, v <= 6 else { return nil }
        return v
    }()
}

extension SpoolCommand {
    /// A command every version reads and that changes nothing (a prune of nothing): what a
    /// postpone becomes for readers below format 4 (postponing only saves work: the messages come
    /// due again and are parked or attempted).
    static let noOp = SpoolCommand.pruneEvents(PruneEvents(before: Int64.min, maxCount: 0))
}
