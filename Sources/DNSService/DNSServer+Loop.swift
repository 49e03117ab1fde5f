import DNSCore
import Glibc

extension DNSServer {
    /// One accepted TCP connection's state, owned by the loop thread.
    struct Connection {
        let fd: Int32
        let client: [UInt8]
        var input: [UInt8] = []
        var output: [UInt8] = []
        var outputOffset = 0
        var lastActive: Double
        /// The peer shut down its sending side: finish writing, then close.
        var readClosed = false
    }

    /// Unsent bytes above which a connection stops being read until it drains.
    static let outputHighWater = 256 * 1024

    /// The server thread: poll, answer, repeat until `stop()`. Closes every descriptor on exit.
    func runLoop() {
        var connections: [Connection] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var pollSet: [pollfd] = []
        var limiter = rateLimit
        let fixed = 1 + udpSockets.count + tcpListeners.count
        defer {
            for c in connections { close(c.fd) }
            for fd in udpSockets + tcpListeners { close(fd) }
            close(wakeRead)
        }
        while !stopping.load(ordering: .acquiring) {
            pollSet.removeAll(keepingCapacity: true)
            pollSet.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            for fd in udpSockets { pollSet.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            for fd in tcpListeners { pollSet.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
            for c in connections {
                var events: Int16 = 0
                if !c.readClosed && c.output.count - c.outputOffset < DNSServer.outputHighWater { events |= Int16(POLLIN) }
                if c.outputOffset < c.output.count { events |= Int16(POLLOUT) }
                pollSet.append(pollfd(fd: c.fd, events: events, revents: 0))
            }
            let rc = poll(&pollSet, nfds_t(pollSet.count), 500)
            if rc < 0 && errno != EINTR { break }
            let now = DNSSocket.now()
            let current = responder.withLock { $0 }
            if pollSet[0].revents != 0 {
                while read(wakeRead, &buffer, buffer.count) > 0 {}
            }
            for (i, fd) in udpSockets.enumerated() where pollSet[1 + i].revents != 0 {
                serveUDP(fd, responder: current, buffer: &buffer, limiter: &limiter)
            }
            // Connections: the poll set holds the ones that existed before this round.
            var closed = Set<Int32>()
            for index in connections.indices {
                let revents = pollSet[fixed + index].revents
                if revents == 0 { continue }
                if !serveTCP(&connections[index], revents: revents, responder: current, buffer: &buffer, now: now) {
                    closed.insert(connections[index].fd)
                }
            }
            for (i, fd) in tcpListeners.enumerated() where pollSet[1 + udpSockets.count + i].revents != 0 {
                accept(on: fd, into: &connections, closed: &closed, now: now)
            }
            for c in connections where !closed.contains(c.fd) && now - c.lastActive > tcpIdleTimeout {
                closed.insert(c.fd)
            }
            if !closed.isEmpty {
                connections.removeAll { c in
                    if closed.contains(c.fd) { close(c.fd); return true }
                    return false
                }
            }
        }
    }

    private func serveUDP(_ fd: Int32, responder: DNSResponder, buffer: inout [UInt8], limiter: inout DNSRateLimiter?) {
        for _ in 0..<64 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
                }
            }
            if n < 0 { return }
            guard let peer = DNSSocketAddress(storage: storage), peer.port != 0 else { continue }
            let query = Array(buffer[0..<n])
            guard let full = responder.respond(to: query, transport: .udp, client: peer.address) else { continue }
            var decision = DNSRateLimiter.Decision.allow
            if limiter != nil {
                decision = limiter!.decide(client: peer.address, category: DNSRateLimiter.Category(responseBytes: full),
                                           now: DNSSocket.now())
            }
            let response: [UInt8]?
            switch decision {
            case .allow: response = full
            case .slip: response = responder.slipResponse(to: query)
            case .drop: response = nil
            }
            if decision != .allow { limited.add(1, ordering: .relaxed) }
            guard let reply = response else { continue }
            if decision == .allow { answered.add(1, ordering: .relaxed) }
            _ = reply.withUnsafeBytes { raw in
                withUnsafePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, length) }
                }
            }
        }
    }

    /// Reads, answers and writes for one connection; false means close it.
    private func serveTCP(_ c: inout Connection, revents: Int16, responder: DNSResponder,
                          buffer: inout [UInt8], now: Double) -> Bool {
        if revents & Int16(POLLERR) != 0 { return false }
        if !c.readClosed && revents & Int16(POLLIN | POLLHUP) != 0 {
            let n = buffer.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
            if n == 0 {
                c.readClosed = true
            } else if n < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return false }
            } else {
                c.lastActive = now
                c.input.append(contentsOf: buffer[0..<n])
                var start = 0
                while c.input.count - start >= 2 {
                    let length = Int(c.input[start]) << 8 | Int(c.input[start + 1])
                    guard c.input.count - start - 2 >= length else { break }
                    let query = Array(c.input[(start + 2)..<(start + 2 + length)])
                    start += 2 + length
                    if let reply = responder.respond(to: query, transport: .tcp, client: c.client) {
                        answered.add(1, ordering: .relaxed)
                        c.output.append(UInt8(reply.count >> 8))
                        c.output.append(UInt8(reply.count & 0xFF))
                        c.output.append(contentsOf: reply)
                    }
                }
                if start > 0 { c.input.removeSubrange(0..<start) }
            }
        }
        if c.outputOffset < c.output.count {
            let n = c.output.withUnsafeBytes { raw in
                send(c.fd, raw.baseAddress! + c.outputOffset, raw.count - c.outputOffset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if n < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return false }
            } else {
                c.outputOffset += n
                c.lastActive = now
                if c.outputOffset == c.output.count {
                    c.output.removeAll(keepingCapacity: true)
                    c.outputOffset = 0
                }
            }
        }
        if revents & Int16(POLLHUP) != 0 && c.outputOffset < c.output.count && revents & Int16(POLLOUT) == 0 {
            return false // peer gone entirely: nothing more can be delivered
        }
        return !(c.readClosed && c.outputOffset == c.output.count)
    }

    private func accept(on listener: Int32, into connections: inout [Connection], closed: inout Set<Int32>, now: Double) {
        for _ in 0..<64 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listener, $0, &length) }
            }
            if fd < 0 { return }
            guard DNSSocket.setNonBlocking(fd), let peer = DNSSocketAddress(storage: storage) else {
                close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let open = connections.filter { !closed.contains($0.fd) }.count
            if open >= maxTCPConnections,
               let victim = connections.filter({ !closed.contains($0.fd) }).min(by: { $0.lastActive < $1.lastActive }) {
                closed.insert(victim.fd)
            }
            connections.append(Connection(fd: fd, client: peer.address, lastActive: now))
        }
    }
}
