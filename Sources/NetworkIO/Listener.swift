import CSystemShims
import Glibc

/// A listening TCP socket on one loop (SO_REUSEPORT, so each loop can own a listener on the same
/// address and the kernel spreads connections). Loop thread only after `start`.
public final class Listener: EventHandler {
    /// The listening socket.
    public let fd: Int32
    /// The bound address (with the real port when 0 was asked for).
    public let address: SocketAddress
    /// The loop it runs on.
    public let loop: EventLoop
    private let onAccept: (Int32, SocketAddress) -> Void
    var closed = false
    /// Hears accept failures that pause the listener (descriptor exhaustion) and the resumption
    /// after; nil: a line on stderr. Loop thread only.
    public var onAcceptTrouble: ((AcceptTrouble) -> Void)?
    /// Accepts are paused (descriptors exhausted) until the retry timer fires.
    var acceptPause = AcceptPauseState()

    /// Binds and listens. Blocks only on the system calls. `onAccept` runs on the loop thread with a
    /// non-blocking socket the callee now owns.
    public init(address: SocketAddress, loop: EventLoop, backlog: Int32 = 1024,
                onAccept: @escaping (Int32, SocketAddress) -> Void) throws {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | sx_SOCK_NONBLOCK() | sx_SOCK_CLOEXEC(), 0)
        if fd < 0 { throw NetworkError.posix(errno, context: "socket for \(address)") }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        if address.family == AF_INET6 {
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        if address.withSockAddr({ bind(fd, $0, $1) }) != 0 {
            let e = errno
            Glibc.close(fd)
            throw NetworkError.posix(e, context: "bind \(address)")
        }
        if listen(fd, backlog) != 0 {
            let e = errno
            Glibc.close(fd)
            throw NetworkError.posix(e, context: "listen \(address)")
        }
        self.fd = fd
        self.address = Connection.localAddress(of: fd)
        self.loop = loop
        self.onAccept = onAccept
    }

    /// Checks that nothing else listens on `address` and returns the address to bind (with the
    /// real port when 0 was asked for). Listeners set SO_REUSEPORT so each loop can own one, which
    /// would also let a second process silently share the port: this probe binds without it, so a
    /// port already taken (by anyone) fails here with `addressInUse`. Blocks only on system calls.
    public static func claim(_ address: SocketAddress) throws -> SocketAddress {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | sx_SOCK_CLOEXEC(), 0)
        if fd < 0 { throw NetworkError.posix(errno, context: "socket for \(address)") }
        defer { Glibc.close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if address.family == AF_INET6 {
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        if address.withSockAddr({ bind(fd, $0, $1) }) != 0 {
            throw NetworkError.posix(errno, context: "bind \(address)")
        }
        return Connection.localAddress(of: fd)
    }

    /// Starts accepting on the loop. Loop thread only.
    public func start() throws {
        try loop.register(fd: fd, events: EPOLLIN.rawValue, handler: self)
    }

    /// Stops accepting and closes the socket. Loop thread only.
    public func close() {
        guard !closed else { return }
        closed = true
        loop.unregister(fd: fd)
        Glibc.close(fd)
    }

    public func handleEvents(_ events: UInt32) {
        for _ in 0..<64 {
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sx_accept4(fd, $0, &len, sx_SOCK_NONBLOCK() | sx_SOCK_CLOEXEC())
                }
            }
            if client < 0 {
                let e = errno
                switch Listener.reaction(toAcceptError: e) {
                case .wait: return
                case .next: continue
                case .pause: pauseAccepting(errno: e); return
                }
            }
            if acceptPause.failures > 0 { acceptsResumed() }
            onAccept(client, SocketAddress(storage: storage, length: len))
        }
    }
}
