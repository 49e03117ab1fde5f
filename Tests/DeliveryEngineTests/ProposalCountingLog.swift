import SpoolStore
import Synchronization

/// A log in front of the real one that counts the claims and outcomes proposed, per queue ID, and
/// the postpones, pulls and reschedules.
final class ProposalCountingLog: ReplicatedLog {
    let base: any ReplicatedLog
    private let counts = Mutex<(claims: [String: Int], outcomes: [String: Int])>(([:], [:]))

    /// Items of each postpone command proposed so far.
    let postponed = Mutex<[Int]>([])
    /// The items of every postpone command proposed so far.
    let postponedItems = Mutex<[SpoolCommand.Postpone.Item]>([])
    /// Items of each pull-forward command proposed so far, and reschedules proposed.
    let pulls = Mutex<[Int]>([])
    let reschedules = Mutex<Int>(0)

    /// The log entry format the engine is told the log writes (a cluster mid-upgrade: below 6).
    let entryFormat: UInt8

    init(base: any ReplicatedLog, entryFormat: UInt8 = SpoolCommand.formatVersion) {
        self.base = base
        self.entryFormat = entryFormat
    }

    func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void) {
        switch command {
        case .claim(let c): counts.withLock { $0.claims[c.queueID, default: 0] += 1 }
        case .outcome(let o): counts.withLock { $0.outcomes[o.queueID, default: 0] += 1 }
        case .postpone(let p):
            postponed.withLock { $0.append(p.items.count) }
            postponedItems.withLock { $0.append(contentsOf: p.items) }
        case .pullForward(let p): pulls.withLock { $0.append(p.items.count) }
        case .reschedule: reschedules.withLock { $0 += 1 }
        default: break
        }
        base.propose(command, completion: completion)
    }

    /// Claims proposed for `queueID` so far.
    func claims(_ queueID: String) -> Int { counts.withLock { $0.claims[queueID] ?? 0 } }

    /// Outcomes proposed for `queueID` so far.
    func outcomes(_ queueID: String) -> Int { counts.withLock { $0.outcomes[queueID] ?? 0 } }

    /// Claims proposed for all messages so far.
    var totalClaims: Int { counts.withLock { $0.claims.values.reduce(0, +) } }
}
