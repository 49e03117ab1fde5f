import Glibc

/// A joinable POSIX thread running one closure. Internal; start and join from any thread.
final class DNSThread: @unchecked Sendable {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    // Written once in `init`, read once in `join` (caller guarantees a single join).
    private var thread = pthread_t()

    /// Starts `body` on a new thread. Throws `DNSServiceError(.thread)` when pthread_create fails.
    init(_ body: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&thread, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw DNSServiceError(.thread, "pthread_create failed", errno: rc)
        }
    }

    /// Blocks until the thread's closure returns. Call at most once.
    func join() {
        pthread_join(thread, nil)
    }
}
