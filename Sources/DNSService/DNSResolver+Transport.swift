import DNSCore
import Glibc

extension DNSResolver {
    /// Result of one exchange with one nameserver.
    enum Attempt {
        case success(DNSResolverCore.Reply)
        case failure(String)
    }

    /// Sends `query` over a connected UDP socket and waits up to `timeout` for a reply with the
    /// same ID and question; replies that do not match are ignored. BLOCKS.
    func udpExchange(_ query: [UInt8], id: UInt16, question: DNSMessage.Question, server: DNSSocketAddress) -> Attempt {
        let fd: Int32
        do { fd = try DNSSocket.makeSocket(family: server.family, type: Int32(SOCK_DGRAM.rawValue)) } catch {
            return .failure("\(error)")
        }
        defer { close(fd) }
        guard server.withSockaddr({ connect(fd, $0, $1) }) == 0 else { return .failure("connect errno \(errno)") }
        let sent = query.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == query.count else { return .failure("send errno \(errno)") }
        let deadline = DNSSocket.now() + timeout
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let revents = DNSSocket.wait(fd, events: Int16(POLLIN), until: deadline)
            if revents == 0 { return .failure("timeout after \(timeout)s") }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return .failure(errno == ECONNREFUSED ? "connection refused" : "recv errno \(errno)")
            }
            guard n >= 12, UInt16(buffer[0]) << 8 | UInt16(buffer[1]) == id,
                  let message = try? DNSMessage(decoding: Array(buffer[0..<n])) else { continue }
            let reply = DNSResolverCore.classify(message, question: question)
            if case .failure = reply, !message.questions.contains(where: { $0.name == question.name && $0.type == question.type }) {
                continue // a stray or spoofed reply for another question: keep waiting
            }
            return .success(reply)
        }
    }

    /// Sends `query` over TCP with two-byte framing and reads one reply, all within `timeout`. BLOCKS.
    func tcpExchange(_ query: [UInt8], id: UInt16, question: DNSMessage.Question, server: DNSSocketAddress) -> Attempt {
        let fd: Int32
        do { fd = try DNSSocket.makeSocket(family: server.family, type: Int32(SOCK_STREAM.rawValue)) } catch {
            return .failure("\(error)")
        }
        defer { close(fd) }
        let deadline = DNSSocket.now() + timeout
        if server.withSockaddr({ connect(fd, $0, $1) }) != 0 {
            guard errno == EINPROGRESS else { return .failure("connect errno \(errno)") }
            guard DNSSocket.wait(fd, events: Int16(POLLOUT), until: deadline) != 0 else { return .failure("connect timeout") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return .failure("connect errno \(error)") }
        }
        let framed = [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query
        var offset = 0
        while offset < framed.count {
            let n = framed.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            guard n < 0, errno == EAGAIN || errno == EINTR else { return .failure("send errno \(errno)") }
            guard DNSSocket.wait(fd, events: Int16(POLLOUT), until: deadline) != 0 else { return .failure("send timeout") }
        }
        var input: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            if input.count >= 2 {
                let length = Int(input[0]) << 8 | Int(input[1])
                if input.count >= 2 + length {
                    guard let message = try? DNSMessage(decoding: Array(input[2..<(2 + length)])), message.id == id else {
                        return .failure("malformed or mismatched TCP reply")
                    }
                    return .success(DNSResolverCore.classify(message, question: question))
                }
            }
            guard DNSSocket.wait(fd, events: Int16(POLLIN), until: deadline) != 0 else { return .failure("read timeout") }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return .failure("connection closed before the reply") }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return .failure("recv errno \(errno)")
            }
            input.append(contentsOf: chunk[0..<n])
        }
    }
}
