import Foundation
import SendarixSupport
import Synchronization
import Testing

/// `ThreadPriority` changes only the thread that calls it: Linux keeps the name and the nice
/// value per thread, so the writer can run first without the process's other threads.
@Suite("ThreadPriority")
struct ThreadPriorityTests {
    /// Name (`comm`) and nice value (`stat` field 19) of thread `tid` of this process.
    static func thread(_ tid: Int32) -> (name: String, nice: Int)? {
        let dir = "/proc/self/task/\(tid)"
        guard let comm = try? String(contentsOfFile: dir + "/comm", encoding: .utf8),
              let stat = try? String(contentsOfFile: dir + "/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 16, let nice = Int(fields[16]) else { return nil }
        return (comm.trimmingCharacters(in: .newlines), nice)
    }

    @Test("a thread names itself (15 bytes kept) and sets its nice value; the thread that started it keeps its own")
    func ownThreadOnly() throws {
        let before = ThreadPriority.nice()
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let seen = Mutex<(tid: Int32, rc: Int32, nice: Int32)>((0, -1, 0))
        let t = Thread {
            ThreadPriority.name("sx-prio-test-thread-long-name")
            let rc = ThreadPriority.setNice(before + 6)
            seen.withLock { $0 = (ThreadPriority.threadID(), rc, ThreadPriority.nice()) }
            started.signal()
            release.wait()
        }
        t.start()
        started.wait()
        defer { release.signal() }
        let s = seen.withLock { $0 }
        #expect(s.rc == 0)
        #expect(s.nice == before + 6)
        let proc = try #require(Self.thread(s.tid))
        #expect(proc.name == "sx-prio-test-th")
        #expect(proc.nice == Int(before) + 6)
        #expect(ThreadPriority.nice() == before, "the calling thread keeps its nice value")
        #expect(Self.thread(ThreadPriority.threadID())?.nice == Int(before))
    }

    @Test("a thread started by a raised thread inherits its value; resetToProcessNice gives it the main thread's again",
          .enabled(if: ThreadPriority.probe(nice: ThreadPriority.nice() - 1) == 0, "needs root, CAP_SYS_NICE or RLIMIT_NICE"))
    func resetInherited() {
        let base = Self.thread(Int32(getpid()))?.nice ?? 0
        let seen = Mutex<(inherited: Int32, reset: Int32, rc: Int32)>((0, 0, -1))
        let done = DispatchSemaphore(value: 0)
        Thread {
            ThreadPriority.setNice(Int32(base) + 4)
            // pthread_create copies the creator's nice value.
            Thread {
                let inherited = ThreadPriority.nice()
                let rc = ThreadPriority.resetToProcessNice()
                seen.withLock { $0 = (inherited, ThreadPriority.nice(), rc) }
                done.signal()
            }.start()
        }.start()
        done.wait()
        let s = seen.withLock { $0 }
        #expect(s.inherited == Int32(base) + 4)
        #expect(s.rc == 0)
        #expect(s.reset == Int32(base))
    }

    @Test("probe answers whether a value may be set and changes no thread of the caller")
    func probeChangesNothing() {
        let before = ThreadPriority.nice()
        #expect(ThreadPriority.probe(nice: before + 3) == 0)
        #expect(ThreadPriority.nice() == before)
        // The lowest priority: always permitted.
        #expect(ThreadPriority.probe(nice: 19) == 0)
        #expect(ThreadPriority.nice() == before)
    }
}
