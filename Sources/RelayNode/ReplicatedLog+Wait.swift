import Dispatch
import SpoolStore
import Synchronization

extension ReplicatedLog {
    /// Proposes `command` and waits until it is committed and applied here (or refused). BLOCKS
    /// the calling thread: operator actions on worker threads only, never an event loop.
    func proposeAndWait(_ command: SpoolCommand) -> Result<UInt64, StoreError> {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<UInt64, StoreError>?>(nil)
        propose(command) { r in
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}
