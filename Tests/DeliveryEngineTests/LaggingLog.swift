import SpoolStore
import Synchronization

/// A log in front of the real one whose first claim of each message's first attempt reaches the
/// engine `claimLagMillis` late on `clock` (a leader change, follower apply lag: most of the lease
/// is gone when the engine learns of the commit), that can fail lease renewals as a node cut off
/// from the majority sees them fail, and that keeps the outcomes proposed.
final class LaggingLog: ReplicatedLog {
    let base: any ReplicatedLog
    let clock: TestClock
    let claimLagMillis: Int64
    let refuseRenewals: Bool
    private let claimed = Mutex<Set<String>>([])
    private let proposedOutcomes = Mutex<[SpoolCommand.Outcome]>([])

    init(base: any ReplicatedLog, clock: TestClock, claimLagMillis: Int64 = 0, refuseRenewals: Bool = false) {
        self.base = base
        self.clock = clock
        self.claimLagMillis = claimLagMillis
        self.refuseRenewals = refuseRenewals
    }

    func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void) {
        switch command {
        case .claim(let c):
            let first = claimed.withLock { $0.insert("\(c.queueID)/\(c.attempt)").inserted }
            if !first, refuseRenewals {
                completion(.failure(StoreError(.closed, "no quorum (test: renewals never commit)", context: c.queueID)))
                return
            }
            let lag = first && c.attempt == 1 ? claimLagMillis : 0
            let clock = self.clock
            base.propose(command) { result in
                if lag > 0 { clock.advance(millis: lag) }
                completion(result)
            }
            return
        case .outcome(let o):
            proposedOutcomes.withLock { $0.append(o) }
        default:
            break
        }
        base.propose(command, completion: completion)
    }

    /// The outcomes proposed for `queueID` so far, in order.
    func outcomes(_ queueID: String) -> [SpoolCommand.Outcome] {
        proposedOutcomes.withLock { $0.filter { $0.queueID == queueID } }
    }
}
