import Foundation
import Glibc

/// glibc ≥ 2.34 `posix_spawn_file_actions_addclosefrom_np` (not visible through the Glibc module):
/// the child closes every descriptor from `from` up before it execs.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func spawnActionsAddCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A child process started with `posix_spawn` and reaped with `waitpid` by pid.
///
/// The tests use this instead of Foundation's `Process`, whose exit detection on Linux was seen to
/// miss a child's exit here (the child stayed a zombie while `isRunning` kept answering true).
/// stdin/stdout/stderr are files (or /dev/null), never pipes, and the child inherits no other
/// descriptor: every test runs in one process, and a descriptor of another test (a pipe's write
/// end, a listening socket) leaking into a long-lived child would outlive that test.
/// Shared by the test targets that start programs (integration, DNS service, crash tests).
public final class ChildProcess: @unchecked Sendable {
    // Safe: `status` is only written by the owning test thread through `poll`/`wait`.
    /// Why a spawn failed.
    public struct SpawnError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The child's process ID.
    public let pid: pid_t
    /// Exit code (128 + signal for a signalled child) once reaped.
    public private(set) var exitStatus: Int32?

    /// Spawns `path` with `args`; `stdinPath`/`stdoutPath`/`stderrPath` default to /dev/null (the same
    /// path for stdout and stderr with `appendOutput` interleaves both in one file).
    public init(_ path: String, _ args: [String], environment: [String: String]? = nil, stdinPath: String? = nil,
         stdoutPath: String? = nil, stderrPath: String? = nil, appendOutput: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let outFlags = O_WRONLY | O_CREAT | (appendOutput ? O_APPEND : O_TRUNC)
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? "/dev/null", outFlags, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? "/dev/null", outFlags, 0o644)
        let closeRC = spawnActionsAddCloseFrom(&actions, 3)
        guard closeRC == 0 else { throw SpawnError(description: "posix_spawn_file_actions_addclosefrom_np: \(String(cString: strerror(closeRC)))") }
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for e in env { free(e) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, env)
        guard rc == 0 else { throw SpawnError(description: "posix_spawn \(path): \(String(cString: strerror(rc)))") }
        self.pid = pid
    }

    /// True until the child has exited (reaps it when it has).
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            exitStatus = ChildProcess.decode(status)
            return false
        }
        return r == 0 || (r < 0 && errno == EINTR)
    }

    /// Waits up to `timeout` seconds for exit; SIGKILLs after that. Returns the exit status.
    @discardableResult
    public func wait(timeout: Double = .infinity) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() >= deadline {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                exitStatus = ChildProcess.decode(status)
                break
            }
            usleep(5_000)
        }
        return exitStatus ?? -1
    }

    /// Sends a signal.
    public func signal(_ sig: Int32) { kill(pid, sig) }

    /// Exit code, or 128 + signal number for a signalled child.
    public static func decode(_ status: Int32) -> Int32 {
        let sig = status & 0x7f
        return sig == 0 ? (status >> 8) & 0xff : 128 + sig
    }
}
