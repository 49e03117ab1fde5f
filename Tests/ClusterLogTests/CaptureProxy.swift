import Foundation
import Glibc
import Synchronization

/// A TCP relay on 127.0.0.1 (port 0) that forwards every accepted connection to `target` and
/// records every byte it carries in both directions, to inspect what crosses the wire. Blocking
/// sockets on its own threads; `stop()` closes everything.
final class CaptureProxy: Sendable {
    let port: UInt16
    private let listenFD: Int32
    private let target: UInt16
    private let captured = Mutex<[UInt8]>([])
    private let fds = Mutex<[Int32]>([])
    private let stopped = Mutex(false)

    /// Starts relaying to `127.0.0.1:targetPort`.
    init(targetPort: UInt16) throws {
        target = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = Self.loopback(0)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0, listen(fd, 16) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: bound.sin_port)
        listenFD = fd
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    /// Every byte relayed so far, both directions interleaved.
    var bytes: [UInt8] { captured.withLock { $0 } }

    /// Whether `marker` appears in the captured bytes.
    func saw(_ marker: String) -> Bool {
        let m = Array(marker.utf8)
        let b = bytes
        guard b.count >= m.count else { return false }
        for i in 0...(b.count - m.count) where b[i] == m[0] && Array(b[i..<(i + m.count)]) == m { return true }
        return false
    }

    /// Closes the listener and every relayed connection.
    func stop() {
        stopped.withLock { $0 = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        for fd in fds.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    private static func loopback(_ port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    private func acceptLoop() {
        while !stopped.withLock({ $0 }) {
            let c = accept(listenFD, nil, nil)
            if c < 0 { if errno == EINTR { continue } else { return } }
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = Self.loopback(target)
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if rc != 0 { close(c); close(s); continue }
            fds.withLock { $0 += [c, s] }
            Thread { [self] in pump(from: c, to: s) }.start()
            Thread { [self] in pump(from: s, to: c) }.start()
        }
    }

    private func pump(from: Int32, to: Int32) {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(from, &buf, buf.count)
            if n <= 0 { break }
            captured.withLock { $0 += buf[0..<n] }
            var off = 0
            while off < n {
                let w = buf.withUnsafeBytes { send(to, $0.baseAddress! + off, n - off, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { break }
                off += w
            }
            if off < n { break }
        }
        shutdown(to, Int32(SHUT_WR))
        shutdown(from, Int32(SHUT_RD))
    }
}
