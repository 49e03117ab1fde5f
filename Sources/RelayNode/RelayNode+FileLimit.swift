import Glibc

extension RelayNode {
    /// Descriptors the node needs besides its SMTP sessions: spool and log files, listeners, event
    /// loops, peer links, delivery connections, DNS sockets, the admin API.
    static let descriptorReserve = 1024

    /// Raises the soft open-file limit to the hard one (every SMTP session is a descriptor; the soft
    /// limit is often 1,024 while the hard one is far higher) and warns when even that is below
    /// `limits.maxConnections` plus a reserve: past it, accepts pause with an 'accept paused' log.
    /// Blocks only on the system calls; call once at start.
    func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let before = limit.rlim_cur
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { limit.rlim_cur = before }
        }
        let soft = limit.rlim_cur
        let wanted = rlim_t(max(0, config.limits.maxConnections) + Self.descriptorReserve)
        if soft < wanted {
            logger.log(.warning, "open-file limit below the connection limit", fields: [
                ("nofile", String(soft)), ("maxConnections", String(config.limits.maxConnections)),
                ("hint", "raise it (ulimit -n, systemd LimitNOFILE) to at least \(wanted), or lower limits.maxConnections"),
            ])
        } else if soft != before {
            logger.log(.info, "open-file limit raised", ["from": String(before), "to": String(soft)])
        }
    }
}
