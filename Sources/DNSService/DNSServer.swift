import DNSCore
import Glibc
import Synchronization

/// Authoritative DNS server shell: UDP and TCP listeners on the given addresses, one worker
/// thread running a `poll` loop, every query answered by `DNSResponder` for the current zone.
///
/// - `init` binds all sockets (UDP and TCP share the port; port 0 picks one free for both;
///   IPv6 sockets are v6-only, so list `0.0.0.0:53` and `[::]:53` for dual stack) and
///   starts the thread; it blocks only for binding. Throws `DNSServiceError` if any bind fails.
/// - `updateZone(_:)` may be called from any thread at any time; the next query sees the new zone.
/// - `stop()` closes every socket and joins the thread; idempotent, any thread (not the loop).
/// - TCP: RFC 1035 §4.2.2 two-byte framing, many queries per connection, idle timeout, a bound
///   on connections (the least recently active one is closed to admit a new one), and a bound on
///   unsent output per connection. Garbage input never crashes the server.
/// - UDP responses can be rate limited (`rateLimit`, RRL: per client network and kind of
///   response, see `DNSRateLimiter`; nil = off, the default here, on in `RelayNode`). Each response
///   is built first and charged to its category; over the limit it is dropped or sent as a
///   truncated slip. TCP is never limited.
/// - The worker thread keeps the server alive: call `stop()` when done (deinit alone won't run).
public final class DNSServer: Sendable {
    /// The addresses actually bound, with real ports (`127.0.0.1:40123`), in the order given.
    public let boundAddresses: [DNSSocketAddress]
    /// Maximum simultaneous TCP connections across all listeners.
    public let maxTCPConnections: Int
    /// Seconds a TCP connection may stay idle before it is closed.
    public let tcpIdleTimeout: Double
    /// UDP response rate limiting settings (nil = unlimited); the loop keeps its own state.
    public let rateLimit: DNSRateLimiter?

    let responder: Mutex<DNSResponder>
    let stopping = Atomic<Bool>(false)
    let answered = Atomic<Int>(0)
    let limited = Atomic<Int>(0)
    let udpSockets: [Int32]
    let tcpListeners: [Int32]
    let wakeRead: Int32
    let wakeWrite: Int32
    private let thread: Mutex<DNSThread?>

    /// Binds UDP+TCP on each of `listen` (`"127.0.0.5:53"`, `"[::1]:0"`) and starts serving `zone`.
    /// Blocks while binding; throws `DNSServiceError` (bad address, bind failure). Any thread.
    public init(listen: [String], zone: DNSResponder.Zone, maxTCPConnections: Int = 256, tcpIdleTimeout: Double = 10,
                rateLimit: DNSRateLimiter? = nil) throws {
        self.maxTCPConnections = max(1, maxTCPConnections)
        self.rateLimit = rateLimit
        self.tcpIdleTimeout = tcpIdleTimeout
        self.responder = Mutex(DNSResponder(zone: zone))
        var udp: [Int32] = [], tcp: [Int32] = [], bound: [DNSSocketAddress] = []
        func closeAll() {
            for fd in udp + tcp { close(fd) }
        }
        do {
            for text in listen {
                let address = try DNSSocketAddress(text)
                let pair = try DNSServer.bindPair(address)
                udp.append(pair.udp)
                tcp.append(pair.tcp)
                bound.append(pair.address)
            }
        } catch {
            closeAll()
            throw error
        }
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            let e = errno
            closeAll()
            throw DNSServiceError(.socket, "pipe failed", errno: e)
        }
        for fd in pipeFDs {
            _ = DNSSocket.setNonBlocking(fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        self.udpSockets = udp
        self.tcpListeners = tcp
        self.boundAddresses = bound
        self.wakeRead = pipeFDs[0]
        self.wakeWrite = pipeFDs[1]
        self.thread = Mutex(nil)
        do {
            let started = try DNSThread { [self] in self.runLoop() }
            thread.withLock { $0 = started }
        } catch {
            closeAll()
            close(pipeFDs[0]); close(pipeFDs[1])
            throw error
        }
    }

    /// The port of the first bound address (convenient with port 0).
    public var port: UInt16 { boundAddresses.first?.port ?? 0 }

    /// The zone currently served. Any thread.
    public var zone: DNSResponder.Zone { responder.withLock { $0.zone } }

    /// Number of queries answered so far (full answers, not rate-limited ones). Any thread.
    public var queriesAnswered: Int { answered.load(ordering: .relaxed) }

    /// Number of UDP responses dropped or slipped by the rate limiter. Any thread.
    public var responsesLimited: Int { limited.load(ordering: .relaxed) }

    /// Replaces the served zone atomically; lookup tables are built before taking the lock.
    /// Non-blocking apart from the brief lock; any thread.
    public func updateZone(_ zone: DNSResponder.Zone) {
        let fresh = DNSResponder(zone: zone)
        responder.withLock { $0 = fresh }
    }

    /// Stops serving: wakes the loop, which closes every socket, and joins the thread.
    /// Blocks until the thread has exited. Idempotent; any thread except the server's own.
    public func stop() {
        guard let running = thread.withLock({ t -> DNSThread? in defer { t = nil }; return t }) else { return }
        stopping.store(true, ordering: .releasing)
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        running.join()
        close(wakeWrite)
    }

    deinit {
        stop()
    }

    /// Binds UDP then TCP on the same port; with port 0 retries until both get the same port.
    private static func bindPair(_ address: DNSSocketAddress) throws -> (udp: Int32, tcp: Int32, address: DNSSocketAddress) {
        var lastError: DNSServiceError? = nil
        for _ in 0..<20 {
            let udp = try DNSSocket.makeSocket(family: address.family, type: Int32(SOCK_DGRAM.rawValue))
            guard address.withSockaddr({ bind(udp, $0, $1) }) == 0 else {
                let e = errno
                close(udp)
                throw DNSServiceError(.bind, "cannot bind UDP", address: address.description, errno: e)
            }
            guard let actual = DNSSocket.localAddress(udp) else {
                close(udp)
                throw DNSServiceError(.bind, "getsockname failed", address: address.description, errno: errno)
            }
            let tcp: Int32
            do {
                tcp = try DNSSocket.makeSocket(family: address.family, type: Int32(SOCK_STREAM.rawValue))
            } catch {
                close(udp)
                throw error
            }
            var one: Int32 = 1
            setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if actual.withSockaddr({ bind(tcp, $0, $1) }) == 0 && listen(tcp, 128) == 0 {
                return (udp, tcp, actual)
            }
            let e = errno
            close(udp)
            close(tcp)
            lastError = DNSServiceError(.bind, "cannot bind TCP", address: actual.description, errno: e)
            if address.port != 0 { break }
        }
        throw lastError ?? DNSServiceError(.bind, "cannot bind", address: address.description)
    }
}
