import COpenSSL
import CSystemShims
import Glibc

/// Receives a `Connection`'s events. Called only on the connection's loop thread.
public protocol ConnectionDelegate: AnyObject {
    /// An outbound connection finished connecting.
    func connectionDidConnect(_ connection: Connection)
    /// Bytes arrived (already decrypted when TLS is on).
    func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>)
    /// The TLS handshake finished.
    func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo)
    /// The connection is closed; `error` is nil for an orderly close. Called exactly once.
    func connectionDidClose(_ connection: Connection, error: NetworkError?)
}

extension ConnectionDelegate {
    public func connectionDidConnect(_ connection: Connection) {}
    public func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {}
}

/// A non-blocking TCP stream on one `EventLoop`, with optional TLS (server or client side).
///
/// All methods must be called on the loop's thread. Writes are queued and flushed as the socket
/// allows; `close()` flushes first.
public final class Connection: EventHandler {
    /// The socket.
    public let fd: Int32
    /// The loop that owns this connection.
    public let loop: EventLoop
    /// The peer's address.
    public let remoteAddress: SocketAddress
    /// The local address.
    public let localAddress: SocketAddress
    /// Receives events; cleared after the close callback.
    public var delegate: ConnectionDelegate?
    /// Free-form tag for the owner.
    public var userInfo: AnyObject?

    private enum State { case connecting, open, awaitingTLS, handshaking, closed }
    private var state: State
    private(set) var ssl: OpaquePointer?
    private var tlsContext: TLSContext?
    private var tlsIsClient = false
    private var sslWantsWriteForRead = false
    private var handshakeWants: UInt32 = EPOLLIN.rawValue
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var closeWhenFlushed = false
    private var watched: UInt32 = 0
    private var connectTimer: UInt64?
    /// When true, the connection stops reading (back pressure); writes continue.
    public var readPaused = false {
        didSet { if oldValue != readPaused { updateInterest() } }
    }
    /// Bytes received and sent, for logs.
    public private(set) var bytesRead = 0
    /// True once TLS is established.
    public var isTLS: Bool { ssl != nil && state == .open }
    /// Client role: the peer certificate's X.509 verification result (`SSL_get_verify_result`,
    /// 0 = valid) once the handshake ended, successfully or not; nil before. With a context that
    /// loads trust anchors but does not enforce them (`TLSContext(clientVerification:enforce: false)`)
    /// this tells what verification would have said without failing the handshake.
    public private(set) var peerVerifyResult: Int?
    /// Bytes still waiting to be written.
    public var pendingOutputCount: Int { output.count - outputOffset }

    init(fd: Int32, loop: EventLoop, remote: SocketAddress, local: SocketAddress, connecting: Bool) {
        self.fd = fd
        self.loop = loop
        self.remoteAddress = remote
        self.localAddress = local
        self.state = connecting ? .connecting : .open
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Adopts an accepted socket and starts reading. Loop thread only.
    public static func accepted(fd: Int32, remote: SocketAddress, loop: EventLoop,
                                delegate: ConnectionDelegate) throws -> Connection {
        let c = Connection(fd: fd, loop: loop, remote: remote, local: Connection.localAddress(of: fd), connecting: false)
        c.delegate = delegate
        c.watched = EventLoop.readable
        try loop.register(fd: fd, events: c.watched, handler: c)
        return c
    }

    /// Starts a non-blocking connect to `address` (optionally from `source`); the delegate hears
    /// `connectionDidConnect` or `connectionDidClose(error:)`. Loop thread only.
    public static func connect(to address: SocketAddress, from source: SocketAddress? = nil, loop: EventLoop,
                               timeout: Double, delegate: ConnectionDelegate) throws -> Connection {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | sx_SOCK_NONBLOCK() | sx_SOCK_CLOEXEC(), 0)
        if fd < 0 { throw NetworkError.posix(errno, context: "socket") }
        if let source {
            let rc = source.withSockAddr { bind(fd, $0, $1) }
            if rc != 0 {
                let e = errno
                Glibc.close(fd)
                throw NetworkError.posix(e, context: "bind \(source)")
            }
        }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 && errno != EINPROGRESS {
            let e = errno
            Glibc.close(fd)
            throw NetworkError.posix(e, context: "connect \(address)")
        }
        let c = Connection(fd: fd, loop: loop, remote: address, local: Connection.localAddress(of: fd), connecting: true)
        c.delegate = delegate
        c.watched = EventLoop.writable
        try loop.register(fd: fd, events: c.watched, handler: c)
        c.connectTimer = loop.schedule(after: timeout) { [weak c] in
            guard let c, c.state == .connecting else { return }
            c.fail(NetworkError(.timedOut, "connect timed out after \(timeout)s", context: "\(address)"))
        }
        return c
    }

    static func localAddress(of fd: Int32) -> SocketAddress {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &len) }
        }
        return SocketAddress(storage: storage, length: len)
    }

    deinit {
        if let ssl { SSL_free(ssl) }
    }

    // MARK: - Writing

    /// Queues `bytes` for sending and tries to send them now.
    public func write(_ bytes: [UInt8]) {
        guard state != .closed, !bytes.isEmpty else { return }
        if outputOffset == output.count {
            output = bytes
            outputOffset = 0
        } else {
            output.append(contentsOf: bytes)
        }
        if state == .open { flush() }
    }

    /// Closes after everything queued has been written.
    public func close() {
        guard state != .closed else { return }
        closeWhenFlushed = true
        if pendingOutputCount == 0 || state == .connecting || state == .handshaking {
            finish(error: nil)
        } else {
            updateInterest()
        }
    }

    /// Closes now, dropping queued output.
    public func abort(_ error: NetworkError? = nil) {
        finish(error: error)
    }

    // MARK: - TLS

    /// Starts TLS once queued plaintext (e.g. `220 Ready to start TLS`) is written. No plaintext is
    /// read after this call. `serverName` (client role) sets SNI and, when verifying, the expected host.
    public func startTLS(context: TLSContext, asClient: Bool = false, serverName: String? = nil,
                         verifyHost: Bool = false) {
        guard state == .open else { return }
        tlsContext = context
        tlsIsClient = asClient
        ERR_clear_error()
        guard let ssl = SSL_new(context.ctx) else {
            fail(TLSContext.error("SSL_new"))
            return
        }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        if asClient {
            SSL_set_connect_state(ssl)
            if let serverName {
                _ = sx_SSL_set_tlsext_host_name(ssl, serverName)
                if verifyHost { SSL_set1_host(ssl, serverName) }
            }
        } else {
            SSL_set_accept_state(ssl)
        }
        state = .awaitingTLS
        if pendingOutputCount == 0 { beginHandshake() } else { updateInterest() }
    }

    private func beginHandshake() {
        state = .handshaking
        handshakeWants = EventLoop.readable
        continueHandshake()
    }

    private func continueHandshake() {
        guard let ssl else { return }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            if tlsIsClient { peerVerifyResult = Int(SSL_get_verify_result(ssl)) }
            state = .open
            let info = TLSInfo(version: String(cString: SSL_get_version(ssl)),
                               cipher: String(cString: sx_SSL_cipher_name(ssl)))
            TLSHandshakeStats.record(version: info.version, isClient: tlsIsClient)
            updateInterest()
            delegate?.connectionDidCompleteTLS(self, info: info)
            if state == .open && pendingOutputCount > 0 { flush() }
            if state == .open { readTLS() }
            return
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ: handshakeWants = EventLoop.readable; updateInterest()
        case SSL_ERROR_WANT_WRITE: handshakeWants = EventLoop.writable; updateInterest()
        default:
            if tlsIsClient { peerVerifyResult = Int(SSL_get_verify_result(ssl)) }
            fail(TLSContext.error("TLS handshake with \(remoteAddress)"))
        }
    }

    // MARK: - Events

    public func handleEvents(_ events: UInt32) {
        switch state {
        case .closed:
            return
        case .connecting:
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if let t = connectTimer { loop.cancelTimer(t); connectTimer = nil }
            if err != 0 {
                fail(NetworkError.posix(err, context: "connect \(remoteAddress)"))
                return
            }
            state = .open
            updateInterest()
            delegate?.connectionDidConnect(self)
        case .awaitingTLS:
            if events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { fail(nil); return }
            flushPlain()
            if state == .awaitingTLS && pendingOutputCount == 0 { beginHandshake() }
        case .handshaking:
            continueHandshake()
        case .open:
            if events & EPOLLOUT.rawValue != 0 || sslWantsWriteForRead { flush() }
            guard state == .open else { return }
            if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 && !readPaused {
                if ssl != nil { readTLS() } else { readPlain() }
            }
        }
    }

    private func readPlain() {
        let scratch = loop.readScratch
        let n = read(fd, scratch.baseAddress, scratch.count)
        if n > 0 {
            bytesRead += n
            let bytes = Array(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            delegate?.connection(self, didRead: bytes[...])
        } else if n == 0 {
            finish(error: nil)
        } else if errno != EAGAIN && errno != EINTR {
            fail(NetworkError.posix(errno, context: "read from \(remoteAddress)"))
        }
    }

    private func readTLS() {
        guard let ssl else { return }
        let scratch = loop.readScratch
        // Drain: records buffered inside OpenSSL never wake epoll.
        while state == .open && !readPaused {
            ERR_clear_error()
            let n = SSL_read(ssl, scratch.baseAddress, Int32(scratch.count))
            if n > 0 {
                bytesRead += Int(n)
                let bytes = Array(UnsafeRawBufferPointer(rebasing: scratch[0..<Int(n)]))
                delegate?.connection(self, didRead: bytes[...])
                continue
            }
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_WANT_READ:
                return
            case SSL_ERROR_WANT_WRITE:
                sslWantsWriteForRead = true
                updateInterest()
                return
            case SSL_ERROR_ZERO_RETURN:
                finish(error: nil)
                return
            default:
                fail(TLSContext.error("TLS read from \(remoteAddress)"))
                return
            }
        }
    }

    private func flush() {
        if ssl != nil && state == .open { flushTLS() } else { flushPlain() }
    }

    private func flushPlain() {
        while outputOffset < output.count {
            let n = output.withUnsafeBytes { buf in
                send(fd, buf.baseAddress! + outputOffset, output.count - outputOffset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { outputOffset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { break }
            fail(NetworkError.posix(errno, context: "write to \(remoteAddress)"))
            return
        }
        afterFlush()
    }

    private func flushTLS() {
        guard let ssl else { return }
        sslWantsWriteForRead = false
        while outputOffset < output.count {
            ERR_clear_error()
            let count = Int32(min(output.count - outputOffset, 1 << 20))
            let n = output.withUnsafeBytes { buf in SSL_write(ssl, buf.baseAddress! + outputOffset, count) }
            if n > 0 { outputOffset += Int(n); continue }
            let e = SSL_get_error(ssl, n)
            if e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ { break }
            fail(TLSContext.error("TLS write to \(remoteAddress)"))
            return
        }
        afterFlush()
    }

    private func afterFlush() {
        if outputOffset == output.count {
            output = []
            outputOffset = 0
            if closeWhenFlushed { finish(error: nil); return }
        }
        updateInterest()
    }

    private func updateInterest() {
        guard state != .closed else { return }
        var want: UInt32
        switch state {
        case .connecting, .awaitingTLS: want = EventLoop.writable
        case .handshaking: want = handshakeWants
        case .open:
            want = readPaused || closeWhenFlushed ? 0 : EventLoop.readable
            if pendingOutputCount > 0 || sslWantsWriteForRead { want |= EventLoop.writable }
        case .closed: want = 0
        }
        if want != watched {
            watched = want
            loop.modify(fd: fd, events: want)
        }
    }

    private func fail(_ error: NetworkError?) { finish(error: error) }

    private func finish(error: NetworkError?) {
        guard state != .closed else { return }
        let wasOpenTLS = state == .open && ssl != nil
        state = .closed
        if let t = connectTimer { loop.cancelTimer(t); connectTimer = nil }
        if wasOpenTLS, let ssl {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
        }
        loop.unregister(fd: fd)
        Glibc.close(fd)
        let d = delegate
        delegate = nil
        d?.connectionDidClose(self, error: error)
    }
}
