import ClusterLog
import Foundation
import Synchronization
import Glibc

/// systemd `Type=notify` readiness (the sd_notify protocol, without libsystemd): datagrams such as
/// `READY=1`, `STOPPING=1` and `STATUS=…` sent to the unix datagram socket named by
/// `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace). Without that variable every
/// call does nothing. Any thread; sends never block for long (datagram to a local socket).
public enum ReadinessNotifier {
    /// Sends `state` (newline-separated `KEY=value` lines) to `$NOTIFY_SOCKET`; false when the
    /// variable is unset or the send failed. Any thread.
    @discardableResult
    public static func notify(_ state: String, socketPath: String? = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"]) -> Bool {
        guard let socketPath, !socketPath.isEmpty else { return false }
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }   // abstract namespace
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == bytes.count
    }

    /// Whether a cluster member has caught up: it leads, or it follows a known leader
    /// and has applied everything up to `leaderCommit`, the commit index the leader reported in a
    /// read-index round (`RaftLog.requestLeaderCommit`; its own commit index is no guide: a
    /// follower's is capped by the entries it has). Pure.
    public static func caughtUp(isLeader: Bool, knowsLeader: Bool, applied: UInt64, leaderCommit: UInt64?) -> Bool {
        if isLeader { return true }
        guard knowsLeader, let leaderCommit else { return false }
        return applied >= leaderCommit
    }

    /// Called once the node's listeners are up: sends `READY=1` at once on a single node, or (on
    /// a cluster member) once `caughtUp` holds, with `STATUS=` lines while it waits. Returns at
    /// once; the wait runs on its own thread and ends when the node stops (`shutdownStarted`).
    public static func announceWhenReady(raft: RaftLog?, logger: NodeLogger) {
        guard ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil else { return }
        guard let raft else {
            notify("READY=1\nSTATUS=serving (single node)")
            logger.log(.info, "readiness sent to systemd", ["mode": "single-node"])
            return
        }
        Thread.detachNewThread {
            var lastStatus = ""
            var rounds = 0
            while !stopping.withLock({ $0 }) {
                let s = raft.status()
                if caughtUp(isLeader: s.isLeader, knowsLeader: s.leader != nil, applied: s.applied, leaderCommit: raft.leaderCommit) {
                    notify("READY=1\nSTATUS=serving as \(s.role) (term \(s.term), applied \(s.applied))")
                    logger.log(.info, "readiness sent to systemd", ["role": s.role, "applied": "\(s.applied)", "commit": "\(s.commit)"])
                    return
                }
                let status = s.leader == nil ? "STATUS=waiting for a leader (term \(s.term))"
                    : "STATUS=catching up: applied \(s.applied) of the leader's \(raft.leaderCommit.map(String.init) ?? "?")"
                if status != lastStatus { notify(status); lastStatus = status }
                if rounds % 10 == 0 { raft.requestLeaderCommit() }   // every half second
                rounds += 1
                usleep(50_000)
            }
        }
    }

    /// Sends `STOPPING=1` (the node started draining) and ends a pending readiness wait. Any thread.
    public static func shutdownStarted() {
        stopping.withLock { $0 = true }
        notify("STOPPING=1\nSTATUS=draining")
    }

    private static let stopping = Mutex(false)
}
