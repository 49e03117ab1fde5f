import Synchronization

/// Stored webhook calls per endpoint (pending, failed, delivered), kept in memory so `/metrics`
/// and `GET /v1/webhooks` cost one lookup per endpoint instead of a walk over every stored call.
///
/// Loaded when the spool opens from the counts persisted in the spool (`SpoolStore+WebhookTally`;
/// counted by a walk over every stored call only when those are missing or stale), then changed by
/// what each write transaction puts and deletes under the call keys: the changes of a transaction
/// are staged, written into it (``pendingWrites()``) and kept only when it commits (a transaction
/// that aborts or is retried after a map growth leaves the counts alone). One writer at a time
/// stages (the spool's write transactions are serial); readers may run on any thread. Thread-safe
/// (a mutex).
final class WebhookTally: Sendable {
    /// Counts of one endpoint.
    struct Counts: Sendable, Equatable {
        var pending = 0
        var failed = 0
        var delivered = 0
        var isZero: Bool { pending == 0 && failed == 0 && delivered == 0 }

        static func + (a: Counts, b: Counts) -> Counts {
            Counts(pending: a.pending + b.pending, failed: a.failed + b.failed, delivered: a.delivered + b.delivered)
        }
    }

    private struct Staged {
        /// Every call of the endpoint went (it was deleted) before `delta`.
        var reset = false
        var delta = Counts()
    }

    private struct State {
        var counts: [String: Counts] = [:]
        var staged: [String: Staged] = [:]
        /// The persisted counts do not (all) equal `counts`: the next commit writes every count.
        var needsFullWrite = false
        var recounts = 0
        var walkedCalls = 0
    }

    private let state = Mutex(State())

    /// The committed counts of endpoint `id` (zero when it has no stored calls).
    func counts(_ id: String) -> Counts {
        state.withLock { $0.counts[id] ?? Counts() }
    }

    /// Replaces every count (the counts when the spool opens) and drops staged changes.
    /// `persisted`: the spool holds exactly these counts (else the next commit writes them all).
    func reset(to counts: [String: Counts], persisted: Bool) {
        state.withLock { s in
            s.counts = counts.filter { !$0.value.isZero }
            s.staged = [:]
            s.needsFullWrite = !persisted
        }
    }

    /// Records a walk over every stored call (`walked` calls) at open, for tests.
    func noteRecount(walked: Int) {
        state.withLock { s in
            s.recounts += 1
            s.walkedCalls += walked
        }
    }

    /// Walks over every stored call since this spool opened, and the calls they walked (tests).
    var recounts: (walks: Int, calls: Int) { state.withLock { ($0.recounts, $0.walkedCalls) } }

    /// What the current write transaction must persist: the counts its staged changes lead to, of
    /// the endpoints they change (zero: delete), or, with `full`, of every endpoint with calls
    /// (every other persisted count goes).
    func pendingWrites() -> (counts: [String: Counts], full: Bool) {
        state.withLock { s in
            var out: [String: Counts] = s.needsFullWrite ? s.counts : [:]
            for (id, st) in s.staged { out[id] = (st.reset ? Counts() : s.counts[id] ?? Counts()) + st.delta }
            return (out, s.needsFullWrite)
        }
    }

    /// Stages a change of endpoint `id`'s counts in the current write transaction.
    func stage(_ id: String, _ delta: Counts) {
        state.withLock { s in
            s.staged[id, default: Staged()].delta = s.staged[id, default: Staged()].delta + delta
        }
    }

    /// Stages the removal of every stored call of endpoint `id` (the endpoint was deleted).
    func stageRemoveAll(_ id: String) {
        state.withLock { $0.staged[id] = Staged(reset: true) }
    }

    /// Keeps the staged changes (the transaction committed, with ``pendingWrites()``).
    func commitStaged() {
        state.withLock { s in
            s.needsFullWrite = false
            for (id, st) in s.staged {
                let total = (st.reset ? Counts() : s.counts[id] ?? Counts()) + st.delta
                s.counts[id] = total.isZero ? nil : total
            }
            s.staged.removeAll(keepingCapacity: true)
        }
    }

    /// Drops the staged changes (the transaction did not commit, or starts again).
    func discardStaged() {
        state.withLock { $0.staged.removeAll(keepingCapacity: true) }
    }
}
