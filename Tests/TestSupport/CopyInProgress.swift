import Foundation
import Synchronization

/// A long copy (a store's backup, made in batches with a hook at each batch boundary) run on
/// another thread and held at its batch boundaries while the test does something that must not
/// wait for it: each boundary pauses until `finishWork()` was called or `release()` says the copy
/// should go on (a map growth waits, say), bounded by a fail-safe: 120 s after the start or after the
/// work last reported progress (`workProgressed()`), for all pauses together. It is a hang guard: per
/// pause, a slow enqueue on a loaded CI machine outlasted 20 s, and a test of 20 rounds on a CI machine
/// running the whole suite outlasted 120 s in all; work that waits for the copy makes no progress, so
/// the copy still ends within minutes. How each pause ended is
/// counted (`releases`, `failSafeExpiries`), so a test can tell a copy that stepped out for the
/// work from one that the work waited for until the fail-safe let it go on.
public final class CopyInProgress: Sendable {
    private let started = DispatchSemaphore(value: 0)
    private let batches = Atomic<Int>(0)
    private let releaseCount = Atomic<Int>(0)
    private let expiryCount = Atomic<Int>(0)
    private let workDone = Atomic<Bool>(false)
    private let copyDone = Atomic<Bool>(false)
    private let failure = Mutex<String?>(nil)
    /// When the pauses stop holding the copy, in `DispatchTime` nanoseconds.
    private let failSafeEnd = Atomic<UInt64>(UInt64.max)
    private static let failSafeNanoseconds: UInt64 = 120_000_000_000
    private let group = DispatchGroup()

    /// Nothing started yet. Any thread.
    public init() {}

    /// Runs `copy` on another thread, handing it the hook for its batch boundaries; `release` is
    /// polled at each pause. Returns once the copy reached its first boundary (or after 60 s).
    /// True when it did.
    public func start(release: @escaping @Sendable () -> Bool,
                      _ copy: @escaping @Sendable (_ onBatch: @escaping () -> Void) throws -> Void) -> Bool {
        workProgressed()
        DispatchQueue.global().async(group: group) { [self] in
            do {
                try copy {
                    if self.batches.add(1, ordering: .relaxed).newValue == 1 { self.started.signal() }
                    while !self.workDone.load(ordering: .relaxed) {
                        if release() {
                            self.releaseCount.add(1, ordering: .relaxed)
                            break
                        }
                        if DispatchTime.now().uptimeNanoseconds >= self.failSafeEnd.load(ordering: .relaxed) {
                            self.expiryCount.add(1, ordering: .relaxed)
                            break
                        }
                        usleep(1_000)
                    }
                }
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            copyDone.store(true, ordering: .relaxed)
        }
        return started.wait(timeout: .now() + 60) == .success
    }

    /// The test's work moved on (a round of it committed): the fail-safe counts its 120 s from now.
    /// Any thread.
    public func workProgressed() {
        failSafeEnd.store(DispatchTime.now().uptimeNanoseconds + Self.failSafeNanoseconds, ordering: .relaxed)
    }

    /// Marks the test's work done and returns whether the copy was still running then; the copy
    /// then goes on to its end.
    public func finishWork() -> Bool {
        let running = !copyDone.load(ordering: .relaxed)
        workDone.store(true, ordering: .relaxed)
        return running
    }

    /// Pauses that ended because `release()` said the copy should go on (before `finishWork()`).
    /// Any thread.
    public var releases: Int { releaseCount.load(ordering: .relaxed) }

    /// Pauses that ended by the fail-safe: the test's work had not finished nor asked the
    /// copy to go on by then (work that waits for the copy ends this way). Any thread.
    public var failSafeExpiries: Int { expiryCount.load(ordering: .relaxed) }

    /// Waits for the copy to end; its error, if it failed.
    public func wait() -> String? {
        group.wait()
        return failure.withLock { $0 }
    }
}
