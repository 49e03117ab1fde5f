import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import SpoolStore
import TestSupport

/// The crash test re-runs this test binary as a child process that only runs
/// `CrashTests/child()`, kills it with SIGKILL while it is committing, and
/// checks that every enqueue the child saw acknowledged is in the store.
enum CrashHarness {
    static let environmentKey = "SPOOLSTORE_CRASH_CHILD_DIR"
    static var childDirectory: String? { ProcessInfo.processInfo.environment[environmentKey] }

    static func id(_ n: Int) -> String { "C\(n)" }

    /// Varied sizes (1 KB … 150 KB) so kills land in transactions of different shapes.
    static func body(_ n: Int) -> [UInt8] { testBody(size: 1000 + (n * 7919) % 150_000, seed: UInt64(n) + 1) }

    /// The numbers of the complete `ACK n` lines in the child's output file so far.
    static func acks(in path: String) -> [Int] {
        guard let data = FileManager.default.contents(atPath: path), let end = data.lastIndex(of: 0x0A) else { return [] }
        return String(decoding: data[..<end], as: UTF8.self).split(separator: "\n").compactMap { line in
            line.hasPrefix("ACK ") ? Int(line.dropFirst(4)) : nil
        }
    }
}

@Suite("Crash durability")
struct CrashTests {
    @Test("child process: enqueue continuously and print each acknowledged ID (only when spawned by the crash test)",
          .enabled(if: CrashHarness.childDirectory != nil))
    func child() async throws {
        let dir = try #require(CrashHarness.childDirectory)
        let store = try SpoolStore(directory: dir)
        let log = try LocalLog(store: store)
        // A hang guard only: the parent kills the child once it saw 600 acknowledgements (or after
        // 120 s without a new one); a slow machine may need minutes to get there.
        let deadline = ContinuousClock.now + .seconds(600)
        await withTaskGroup(of: Void.self) { group in
            for p in 0..<16 {
                group.addTask {
                    var i = 0
                    while ContinuousClock.now < deadline {
                        let n = p * 1_000_000 + i
                        i += 1
                        let result = await log.proposeAndWait(makeEnqueue(CrashHarness.id(n), body: CrashHarness.body(n)))
                        if case .success = result {
                            let line = Array("ACK \(n)\n".utf8)
                            _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
                        }
                    }
                }
            }
        }
        log.stop()
    }

    @Test("every enqueue acknowledged before a SIGKILL is present and byte-exact after reopening")
    func killedChild() async throws {
        let dir = TempDirectory()
        // The child's stdout goes to a file, not a pipe (a pipe's write end could leak into a
        // long-lived process another test spawns meanwhile, and end-of-file would never come), and
        // the child is reaped by pid (Foundation's Process was seen to miss exits here).
        let outPath = dir.path + ".acks"
        defer { unlink(outPath) }
        var environment = ProcessInfo.processInfo.environment
        environment[CrashHarness.environmentKey] = dir.path
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        // O_APPEND: the child's concurrent writers each add one whole line.
        let child = try ChildProcess(exe, ["--testing-library", "swift-testing", "--filter", "CrashTests/child"],
                                     environment: environment, stdoutPath: outPath, appendOutput: true)
        // On a plain thread (not the concurrency pool, which busy tests may hold): SIGKILL the child
        // once enough enqueues were acknowledged, and reap it. The fail-safe is a hang guard counted
        // from the last new ACK line (or the spawn): 120 s without progress.
        let (acknowledged, exitedEarly, exitStatus): ([Int], Bool, Int32?) = await withCheckedContinuation { continuation in
            Thread {
                var seen = 0
                var deadline = Date().addingTimeInterval(120)
                while child.isRunning, Date() < deadline {
                    let count = CrashHarness.acks(in: outPath).count
                    if count >= 600 { break }
                    if count > seen {
                        seen = count
                        deadline = Date().addingTimeInterval(120)
                    }
                    usleep(10_000)
                }
                let exitedEarly = !child.isRunning
                if !exitedEarly { kill(child.pid, SIGKILL) } // not after reaping: the pid could be reused
                while child.isRunning { usleep(5_000) }
                // Every ACK line the child wrote before it died counts as acknowledged.
                continuation.resume(returning: (CrashHarness.acks(in: outPath), exitedEarly, child.exitStatus))
            }.start()
        }
        #expect(!exitedEarly, "the child exited before the kill")
        #expect(exitStatus == 128 + SIGKILL)
        #expect(acknowledged.count >= 600)

        let store = try SpoolStore(directory: dir.path)
        var missing = 0
        var wrong = 0
        for n in acknowledged {
            switch try store.messageBody(id: CrashHarness.id(n)) {
            case nil: missing += 1
            case let body? where body != CrashHarness.body(n): wrong += 1
            default: break
            }
        }
        #expect(missing == 0)
        #expect(wrong == 0)
        // The store is internally consistent: one accepted event and one due entry per message.
        let counts = try store.tableCounts()
        let queued = try store.queueCount()
        #expect(queued >= acknowledged.count)
        #expect(counts["events"] == queued && counts["due"] == queued)
        #expect(try store.lastApplied().index == UInt64(queued))
        // And it keeps working.
        let log = try LocalLog(store: store)
        #expect(try await log.proposeAndWait(makeEnqueue("after-crash")).get() == UInt64(queued + 1))
        log.stop()
        store.close()
    }
}
