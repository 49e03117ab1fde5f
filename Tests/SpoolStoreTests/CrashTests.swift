import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import SpoolStore

/// The crash test re-runs this test binary as a child process that only runs
/// `CrashTests/child()`, kills it with SIGKILL while it is committing, and
/// checks that every enqueue the child saw acknowledged is in the store.
enum CrashHarness {
    static let environmentKey = "SPOOLSTORE_CRASH_CHILD_DIR"
    static var childDirectory: String? { ProcessInfo.processInfo.environment[environmentKey] }

    static func id(_ n: Int) -> String { "C\(n)" }

    /// Varied sizes (1 KB … 150 KB) so kills land in transactions of different shapes.
    static func body(_ n: Int) -> [UInt8] { testBody(size: 1000 + (n * 7919) % 150_000, seed: UInt64(n) + 1) }
}

@Suite("Crash durability")
struct CrashTests {
    @Test("child process: enqueue continuously and print each acknowledged ID (only when spawned by the crash test)",
          .enabled(if: CrashHarness.childDirectory != nil))
    func child() async throws {
        let dir = try #require(CrashHarness.childDirectory)
        let store = try SpoolStore(directory: dir)
        let log = try LocalLog(store: store)
        let deadline = ContinuousClock.now + .seconds(60)
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["--testing-library", "swift-testing", "--filter", "CrashTests/child"]
        var environment = ProcessInfo.processInfo.environment
        environment[CrashHarness.environmentKey] = dir.path
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        // Watchdog: never let a stuck child hang the test run.
        DispatchQueue.global().asyncAfter(deadline: .now() + 120) {
            if process.isRunning { kill(pid, SIGKILL) }
        }

        // Read ACK lines on a plain thread; SIGKILL the child once enough were acknowledged.
        let acknowledged: [Int] = await withCheckedContinuation { continuation in
            let reader = Thread {
                var acks: [Int] = []
                var buffer: [UInt8] = []
                var killed = false
                let handle = pipe.fileHandleForReading
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    buffer += data
                    while let nl = buffer.firstIndex(of: 0x0A) {
                        let line = String(decoding: buffer[..<nl], as: UTF8.self)
                        buffer.removeSubrange(...nl)
                        if line.hasPrefix("ACK "), let n = Int(line.dropFirst(4)) { acks.append(n) }
                    }
                    if !killed && acks.count >= 600 {
                        kill(pid, SIGKILL)
                        killed = true
                    }
                }
                process.waitUntilExit()
                continuation.resume(returning: acks)
            }
            reader.start()
        }
        #expect(process.terminationReason == .uncaughtSignal)
        #expect(process.terminationStatus == SIGKILL)
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
