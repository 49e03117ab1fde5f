import Foundation
import Glibc
import SendarixSupport

extension RelayNode {
    /// The nice value for the threads every accept waits on in turn (`spool.writerNice`: the
    /// single-node spool writer, or the raft loop and applier): the configured value when this
    /// process may set it, else 0 (left as inherited) after one warning that says how to allow it.
    /// Probed on a short-lived thread, so no running thread changes. Blocks for microseconds; call
    /// from `start`.
    func commitThreadNice() -> Int32 {
        let wanted = Int32(clamping: config.spool.writerNice)
        guard wanted != 0 else { return 0 }
        let rc = ThreadPriority.probe(nice: wanted)
        guard rc != 0 else { return wanted }
        let hint = "grant CAP_SYS_NICE or raise RLIMIT_NICE (systemd LimitNICE=\(wanted), ulimit -e \(20 - wanted)), "
            + "or set spool.writerNice to 0"
        logger.log(.warning, "spool.writerNice is not permitted; the commit threads keep the process's nice value", fields: [
            ("writerNice", String(wanted)), ("error", String(cString: strerror(rc))), ("hint", hint),
        ])
        return 0
    }
}
