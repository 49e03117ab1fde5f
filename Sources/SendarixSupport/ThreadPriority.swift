#if canImport(Glibc)
import Glibc
#endif
import CSystemShims
import Foundation

/// The calling thread's OS name and scheduling priority. On Linux both belong to the thread, not
/// the process, and a new thread starts with its creator's nice value.
///
/// Used for the threads that every accepted message waits on one after another: the single-node
/// spool writer, the raft loop and the raft applier (`spool.writerNice`). On a busy machine they
/// should run as soon as they are runnable, because the other threads are waiting for their
/// commits. Never blocks (except `probe`); call the setters from the thread they change.
public enum ThreadPriority {
    /// Names the calling thread, as `top -H`, `ps -L`, `/proc/<pid>/task/<tid>/comm` and `perf`
    /// show it. Linux keeps the first 15 bytes.
    public static func name(_ name: String) {
        // Cut at a character boundary: at most 15 bytes of whole characters.
        var kept = 0
        for c in name.unicodeScalars {
            guard kept + c.utf8.count <= 15 else { break }
            kept += c.utf8.count
        }
        let bytes = Array(name.utf8.prefix(kept)).map { CChar(bitPattern: $0) } + [0]
        _ = sx_set_thread_name(bytes)
    }

    /// Sets the calling thread's nice value (-20 to 19, lower runs first). Returns 0, or the errno:
    /// EACCES or EPERM for a value below the current one without `CAP_SYS_NICE` or a high
    /// enough `RLIMIT_NICE` (systemd's `LimitNICE=`).
    @discardableResult
    public static func setNice(_ nice: Int32) -> Int32 {
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(sx_gettid()), nice) == 0 ? 0 : errno
    }

    /// The calling thread's nice value.
    public static func nice() -> Int32 {
        errno = 0
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(sx_gettid()))
    }

    /// Gives the calling thread the process's nice value (its main thread's) again: for a thread
    /// started by one of the raised threads, which inherits their value, when its work is not on
    /// every accept's path (a snapshot copy, a flush before compaction). Going back up to the
    /// process's value is always permitted when the raised value was below it (the usual case);
    /// going down needs the same privilege as `setNice`. Returns 0 or the errno.
    @discardableResult
    public static func resetToProcessNice() -> Int32 {
        errno = 0
        let base = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(getpid()))
        guard errno == 0 else { return errno }
        return setNice(base)
    }

    /// The calling thread's kernel id (what `/proc/<pid>/task/` lists).
    public static func threadID() -> Int32 { sx_gettid() }

    /// Whether a thread of this process may set nice value `nice`: tried on a short-lived thread
    /// of its own, so no other thread changes. Returns 0 or the errno of `setNice`. Blocks until
    /// that thread has tried (microseconds); any thread.
    public static func probe(nice: Int32) -> Int32 {
        let result = ProbeResult()
        let thread = Thread {
            result.set(setNice(nice))
        }
        thread.start()
        return result.wait()
    }

    /// The probe thread's answer, handed over under a condition.
    private final class ProbeResult: @unchecked Sendable {
        // Sound: `value` is only read and written under `condition`.
        private let condition = NSCondition()
        private var value: Int32?

        func set(_ v: Int32) {
            condition.lock()
            value = v
            condition.signal()
            condition.unlock()
        }

        func wait() -> Int32 {
            condition.lock()
            defer { condition.unlock() }
            while value == nil { condition.wait() }
            return value!
        }
    }
}
