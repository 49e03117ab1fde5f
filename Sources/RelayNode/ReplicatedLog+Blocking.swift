import Dispatch
import SpoolStore
import Synchronization

extension ReplicatedLog {
    /// Proposes `command` and BLOCKS the calling thread until it committed and applied (its
    /// index), was refused, or `timeout` seconds passed (`.unavailable`). For worker threads
    /// (admin requests, the webhook dispatcher), never an event loop.
    func proposeBlocking(_ command: SpoolCommand, timeout: Double) -> Result<UInt64, StoreError> {
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<UInt64, StoreError>?>(nil)
        propose(command) { r in
            box.withLock { $0 = r }
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else {
            return .failure(StoreError(.unavailable, "no commit within \(timeout) s", context: "proposal"))
        }
        return box.withLock { $0! }
    }
}
