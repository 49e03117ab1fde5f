import Foundation
import Synchronization
import Testing
@testable import RelayNode

/// The AUTH worker pool must not keep finished checks (their captured password and session) alive.
@Suite("AUTH worker pool")
struct AuthWorkerPoolTests {
    final class Captured: Sendable {}

    @Test("a finished check's captures are released at once, not when a thousand more have run")
    func finishedJobsAreReleased() throws {
        let pool = AuthService.WorkerPool(threads: 2, queueLimit: 100)
        let weakRefs = Mutex<[() -> AnyObject?]>([])
        let done = DispatchGroup()
        for _ in 0..<50 {
            let captured = Captured()
            weakRefs.withLock { refs in
                refs.append { [weak captured] in captured }
            }
            done.enter()
            #expect(pool.submit { withExtendedLifetime(captured) { done.leave() } })
        }
        try #require(done.wait(timeout: .now() + 60) == .success)
        // A thread drops its job right after running it: wait for that, not for a fixed time.
        let deadline = Date().addingTimeInterval(30)
        var alive = 50
        while Date() < deadline {
            alive = weakRefs.withLock { $0.filter { $0() != nil }.count }
            if alive == 0 { break }
            usleep(1_000)
        }
        #expect(alive == 0, "\(alive) finished jobs still hold their captures")
        #expect(pool.storedJobs == 0)
    }
}
