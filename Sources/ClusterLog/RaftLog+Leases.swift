import Foundation
import RaftCore
import SpoolStore
import SendarixSupport

/// Delivery leases in a cluster.
///
/// What the delivery engine should do in cluster mode:
/// 1. Pick work it owns: for a due message, `preferredOwner(for: <recipient domain>)` names one
///    live member (rendezvous hashing over the leader's live set), so each destination domain is
///    worked by one node (connection reuse) and domains spread over the live nodes. A node also
///    takes a due message whose lease has expired and that has stayed unclaimed for a grace period
///    (work of a dead node), whoever the preferred owner is.
/// 2. Propose `SpoolCommand.claim(owner: nodeID, attempt: next, issuedAt: now, expiresAt: now + L)`
///    through this log and deliver ONLY after the completion reports success (the claim is then
///    committed on a majority and applied locally). `.leaseConflict` / `.staleAttempt` mean another
///    node owns it: skip.
/// 3. Renew (claim again with the same attempt) well before `expiresAt`; if renewal cannot commit
///    (no quorum), stop starting new SMTP transactions for that message once the lease has expired
///    by the local clock, because another node may take it over.
/// 4. Report the attempt with `SpoolCommand.outcome(attempt:)`; the state machine rejects outcomes
///    of stale attempts, so a node that lost its lease cannot overwrite the new owner's result.
///
/// The leader validates claims before appending them: a claim whose `issuedAt` is more than
/// `maxClaimSkewMillis` away from the leader's clock is refused with `.leaseConflict`, so a node
/// with a wrong clock cannot judge leases expired early and steal them (lease expiry is compared
/// against the claimant's `issuedAt` by the state machine).
extension RaftLog {
    /// Largest accepted difference between a claim's `issuedAt` and the leader's clock.
    public static let maxClaimSkewMillis: Int64 = 2_000
    /// Longest lease the leader accepts in a claim (one day, `delivery.leaseSeconds`' maximum).
    public static let maxLeaseMillis: Int64 = 86_400_000

    /// The live member that should deliver work keyed by `key` (e.g. the recipient domain), by
    /// rendezvous hashing over `status().live`; nil when no leader view is current (then claim only
    /// what expired leases leave behind, or nothing). Any thread; never blocks.
    public func preferredOwner(for key: String) -> String? {
        Self.rendezvous(key, over: status().live)
    }

    /// Sets what runs after this member applied a batch that made mail due (a new message, a
    /// reschedule or a pull forward, accepted on any member), and when the live set changes (so
    /// destinations change owners): the delivery scheduler's wake, since the destination's owner
    /// is often not the member that took the message. Runs on the applier thread (once per
    /// applied batch) or the raft loop (live set); it must not block. A later call replaces the
    /// handler. Any thread.
    public func onNewWork(_ handler: @escaping @Sendable () -> Void) {
        newWork.withLock { $0 = handler }
    }

    /// Highest-random-weight choice of one of `members` for `key`. Pure; any thread.
    public static func rendezvous(_ key: String, over members: [String]) -> String? {
        var best: (UInt64, String)?
        for m in members {
            var fnv = FNV1a64()
            fnv.add(key.utf8)
            fnv.add(0xff)
            fnv.add(m.utf8)
            var h = fnv.value
            h ^= h >> 29
            h = h &* 0xbf58_476d_1ce4_e5b9
            h ^= h >> 32
            if best == nil || h > best!.0 || (h == best!.0 && m < best!.1) { best = (h, m) }
        }
        return best?.1
    }

    /// Leader-side check of a claim proposal; nil when acceptable. Pure apart from reading the
    /// clock value passed in. The claim comes from a peer: any `Int64` is handled without trapping
    /// (a difference that overflows is refused as skewed).
    static func validateClaim(_ data: [UInt8], nowMillis: Int64) -> StoreError? {
        // [version][tag]: only claims (tag 2) are inspected, without decoding other commands.
        guard data.count > 2, SpoolCommand.formatProblem(data) == nil, data[1] == 2,
              case .claim(let c)? = try? SpoolCommand(decoding: data) else { return nil }
        // A lease longer than a day would hold a message out of everyone's reach (a malformed or
        // hostile claim could name Int64.max).
        let (length, lengthOverflow) = c.expiresAt.subtractingReportingOverflow(c.issuedAt)
        if lengthOverflow || length > maxLeaseMillis {
            return StoreError(.leaseConflict, "claim lease of \(lengthOverflow ? "overflowing" : String(length)) ms "
                              + "exceeds \(maxLeaseMillis) ms", context: c.queueID)
        }
        let (skew, overflow) = c.issuedAt.subtractingReportingOverflow(nowMillis)
        if !overflow && skew.magnitude <= maxClaimSkewMillis.magnitude { return nil }
        let off = overflow ? "issued at \(c.issuedAt) ms since the epoch, far" : "issued at a time \(skew) ms"
        return StoreError(.leaseConflict, "claim \(off) off the leader's clock", context: c.queueID)
    }

    /// Wall clock in ms since the epoch (the shell owns the clock).
    static func nowMillis() -> Int64 { WallClock.nowMillis() }
}
