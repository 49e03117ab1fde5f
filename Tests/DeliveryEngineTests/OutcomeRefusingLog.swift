import SpoolStore
import Synchronization

/// A log in front of the real one that fails the first `failures` outcome proposals as a log
/// without a leader does (`.unavailable`), then commits everything.
final class OutcomeRefusingLog: ReplicatedLog {
    let base: any ReplicatedLog
    private let remaining: Mutex<Int>

    init(base: any ReplicatedLog, failures: Int) {
        self.base = base
        self.remaining = Mutex(failures)
    }

    func propose(_ command: SpoolCommand, completion: @escaping @Sendable (Result<UInt64, StoreError>) -> Void) {
        if case .outcome(let o) = command {
            let fail = remaining.withLock { n -> Bool in
                guard n > 0 else { return false }
                n -= 1
                return true
            }
            if fail {
                completion(.failure(StoreError(.unavailable, "cluster unavailable: not committed (test)", context: o.queueID)))
                return
            }
        }
        base.propose(command, completion: completion)
    }
}
