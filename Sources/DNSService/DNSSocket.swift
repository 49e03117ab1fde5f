import Glibc

/// Small Glibc helpers shared by the DNS server and resolver. Internal; callable from any thread.
enum DNSSocket {
    /// Monotonic seconds (CLOCK_MONOTONIC).
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func setNonBlocking(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0
    }

    static func makeSocket(family: Int32, type: Int32) throws -> Int32 {
        let fd = socket(family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw DNSServiceError(.socket, "socket() failed", errno: errno) }
        guard setNonBlocking(fd) else {
            let e = errno
            close(fd)
            throw DNSServiceError(.socket, "fcntl(O_NONBLOCK) failed", errno: e)
        }
        if family == AF_INET6 {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        return fd
    }

    /// Waits until `fd` has `events` or the deadline passes; returns the revents (0 on timeout).
    static func wait(_ fd: Int32, events: Int16, until deadline: Double) -> Int16 {
        while true {
            let remaining = deadline - now()
            if remaining <= 0 { return 0 }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let rc = poll(&p, 1, Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if rc > 0 { return p.revents }
            if rc < 0 && errno != EINTR { return Int16(POLLERR) }
        }
    }

    /// The locally bound address of `fd`.
    static func localAddress(_ fd: Int32) -> DNSSocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? DNSSocketAddress(storage: storage) : nil
    }
}
