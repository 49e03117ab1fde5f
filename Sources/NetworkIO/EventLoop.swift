import CSystemShims
import Foundation
import Glibc
import SendarixSupport
import Synchronization

/// Something registered with an `EventLoop` for readiness events on a file descriptor.
///
/// Called only on the loop's thread.
public protocol EventHandler: AnyObject {
    /// Handles `EPOLLIN`/`EPOLLOUT`/`EPOLLERR`/`EPOLLHUP` bits reported for the descriptor.
    func handleEvents(_ events: UInt32)
}

/// One epoll event loop running on its own thread.
///
/// Handlers, timers and sockets registered with a loop are touched only on that loop's thread;
/// other threads hand work to it with `execute(_:)`, which is the only thread-safe entry point
/// besides `stop()`.
public final class EventLoop: @unchecked Sendable {
    // Safe to share: the epoll and eventfd descriptors are owned by this object and only used
    // through thread-safe system calls; `handlers` and `timers` are touched only on the loop's
    // own thread (checked with `inLoop` in debug builds); cross-thread work goes through the
    // `pending` mutex.
    let epollFD: Int32
    private let wakeFD: Int32
    private let pending = Mutex<[@Sendable () -> Void]>([])
    private var handlers: [Int32: EventHandler] = [:]
    private var timers = TimerQueue()
    private let stopping = Atomic<Bool>(false)
    private let loopThreadID = Atomic<UInt>(0)
    private let finished = Mutex<Bool>(false)
    private let finishedCondition = NSCondition()
    /// A name for logs and thread names.
    public let name: String
    /// Scratch space for socket reads on this loop (64 KiB, allocated once): connections read
    /// into it and copy out only the bytes received, so idle connections hold no read buffer.
    let readScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)

    /// Creates a loop; call `start()` to run it on a new thread or `run()` on the current one.
    public init(name: String) throws {
        self.name = name
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        if epollFD < 0 { throw NetworkError.posix(errno, context: "epoll_create1") }
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        if wakeFD < 0 {
            let e = errno
            close(epollFD)
            throw NetworkError.posix(e, context: "eventfd")
        }
        var ev = epoll_event()
        ev.events = EPOLLIN.rawValue
        ev.data.fd = wakeFD
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &ev)
    }

    deinit {
        readScratch.deallocate()
        close(wakeFD)
        close(epollFD)
    }

    /// True when called on this loop's thread.
    public var inLoop: Bool { loopThreadID.load(ordering: .relaxed) == UInt(bitPattern: Int(bitPattern: pthread_self())) }

    /// Runs `task` on the loop's thread soon. Thread-safe; never blocks.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let wasEmpty = pending.withLock { queue -> Bool in
            queue.append(task)
            return queue.count == 1
        }
        if wasEmpty { wake() }
    }

    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    /// Starts the loop on a new thread, named after the loop (first 15 bytes) and at nice value
    /// `nice` when not 0 (a value the process may not set is left alone: check it with
    /// `ThreadPriority.probe`). Returns immediately.
    public func start(nice: Int32 = 0) {
        let thread = Thread { [self] in
            ThreadPriority.name(name)
            if nice != 0 { ThreadPriority.setNice(nice) }
            self.run()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Asks the loop to stop after the current iteration. Thread-safe.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wake()
    }

    /// Blocks the caller until the loop's `run()` has returned.
    public func waitUntilStopped() {
        finishedCondition.lock()
        while !finished.withLock({ $0 }) { finishedCondition.wait() }
        finishedCondition.unlock()
    }

    /// Runs the loop on the calling thread until `stop()`. Blocks.
    public func run() {
        loopThreadID.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while !stopping.load(ordering: .acquiring) {
            let timeout = timers.millisecondsUntilNext(now: EventLoop.now())
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epollFD, $0.baseAddress, 256, timeout) }
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<Int(n) {
                let fd = events[i].data.fd
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    continue
                }
                handlers[fd]?.handleEvents(events[i].events)
            }
            runPending()
            for body in timers.takeDue(now: EventLoop.now()) { body() }
        }
        runPending()
        finishedCondition.lock()
        finished.withLock { $0 = true }
        finishedCondition.broadcast()
        finishedCondition.unlock()
    }

    private func runPending() {
        while true {
            let tasks = pending.withLock { queue -> [@Sendable () -> Void] in
                let t = queue
                queue.removeAll(keepingCapacity: true)
                return t
            }
            if tasks.isEmpty { return }
            for task in tasks { task() }
        }
    }

    /// Registers `handler` for `events` on `fd`. Loop thread only.
    public func register(fd: Int32, events: UInt32, handler: EventHandler) throws {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        if epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &ev) != 0 {
            throw NetworkError.posix(errno, context: "epoll_ctl add")
        }
        handlers[fd] = handler
    }

    /// Changes the events watched on `fd`. Loop thread only.
    public func modify(fd: Int32, events: UInt32) {
        var ev = epoll_event()
        ev.events = events
        ev.data.fd = fd
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &ev)
    }

    /// Stops watching `fd` (call before closing it). Loop thread only.
    public func unregister(fd: Int32) {
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil)
        handlers[fd] = nil
    }

    /// Runs `body` on the loop after `seconds`. Loop thread only. Returns an id for `cancelTimer`.
    @discardableResult
    public func schedule(after seconds: Double, _ body: @escaping () -> Void) -> UInt64 {
        timers.add(deadline: EventLoop.now() + UInt64(max(0, seconds) * 1e9), body)
    }

    /// Runs `body` on the loop every `seconds` (first after `initialDelay`) until it returns false.
    /// Thread-safe: may be called from any thread.
    public func every(_ seconds: Double, initialDelay: Double = 0, _ body: @escaping @Sendable () -> Bool) {
        execute { [self] in
            func arm(_ delay: Double) {
                schedule(after: delay) { if body() { arm(seconds) } }
            }
            arm(initialDelay)
        }
    }

    /// Cancels a timer that has not fired yet. Loop thread only.
    public func cancelTimer(_ id: UInt64) { timers.cancel(id) }

    /// Monotonic clock in nanoseconds.
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

extension EventLoop {
    /// Readable.
    public static let readable: UInt32 = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
    /// Writable.
    public static let writable: UInt32 = EPOLLOUT.rawValue
}
