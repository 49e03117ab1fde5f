import SpoolStore
import Synchronization

/// A log in front of the real one that commits everything except lease renewals (a claim for an
/// attempt already claimed), which it fails as a node cut off from the majority would see them fail.
final class RenewalRefusingLog: ReplicatedLog {
    let base: any ReplicatedLog
    private let claimed = Mutex<Set<String>>([])

    init(base: any ReplicatedLog) {
        self.base = base
    }

    func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void) {
        if case .claim(let c) = command {
            let first = claimed.withLock { $0.insert("\(c.queueID)/\(c.attempt)").inserted }
            if !first {
                completion(.failure(StoreError(.closed, "no quorum (test: renewals never commit)", context: c.queueID)))
                return
            }
        }
        base.propose(command, completion: completion)
    }
}
