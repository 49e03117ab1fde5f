import DeliveryCore
import Foundation
import Glibc
import HTTPCore
import RelayConfig
import Synchronization

/// Scores messages with rspamd's `/checkv2` (issue 11). A small blocking HTTP/1.1 client on a
/// bounded worker pool (`spamFilter.maxConcurrent` threads at most; more requests wait their turn
/// there, never on an event loop), with one deadline for connect, send and receive together
/// (`spamFilter.timeoutMillis`), read with HTTPCore's response parser. Thread-safe.
final class SpamScorer: Sendable {
    /// Why a message went unscored.
    enum Failure: Error, Equatable, CustomStringConvertible {
        case unreachable(String), timeout, badResponse(String)
        var description: String {
            switch self {
            case .unreachable(let s): "rspamd unreachable: \(s)"
            case .timeout: "rspamd did not answer in time"
            case .badResponse(let s): "bad answer from rspamd: \(s)"
            }
        }
    }

    /// Counts for metrics.
    struct Metrics: Sendable, Equatable {
        var scored = 0, failures = 0, tagged = 0, held = 0, rejected = 0
    }

    let settings: RelayConfig.SpamFilter
    private let pool: OperationQueue
    let counters = Mutex(Metrics())

    init(settings: RelayConfig.SpamFilter) {
        self.settings = settings
        let q = OperationQueue()
        q.name = "sendarix.spamfilter"
        q.maxConcurrentOperationCount = settings.maxConcurrent
        pool = q
    }

    /// The thresholds of the configuration.
    var thresholds: SpamVerdict.Thresholds {
        SpamVerdict.Thresholds(tag: settings.tagScore, hold: settings.holdScore, reject: settings.rejectScore)
    }

    /// Scores `message` on the pool; `completion` runs there. The deadline starts now, so time
    /// spent waiting for a pool thread counts too. Any thread; never blocks.
    func check(message: [UInt8], sender: String, recipients: [String], clientIP: String, user: String?, queueID: String,
               completion: @escaping @Sendable (Result<SpamVerdict, Failure>) -> Void) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(settings.timeoutMillis) * 1_000_000
        let settings = self.settings
        pool.addOperation { [self] in
            let result = Self.exchange(settings: settings, deadline: deadline, message: message, sender: sender,
                                       recipients: recipients, clientIP: clientIP, user: user, queueID: queueID)
            self.counters.withLock { if case .success = result { $0.scored += 1 } else { $0.failures += 1 } }
            completion(result)
        }
    }

    static func request(_ s: RelayConfig.SpamFilter, message: [UInt8], sender: String, recipients: [String],
                        clientIP: String, user: String?, queueID: String) -> [UInt8] {
        var headers = HTTPHeaders()
        headers.add("Host", s.address.description)
        headers.add("Connection", "close")
        headers.add("From", sender)
        for r in recipients { headers.add("Rcpt", r) }
        if !clientIP.isEmpty { headers.add("IP", clientIP) }
        if let user { headers.add("User", user) }
        headers.add("Queue-Id", queueID)
        return HTTPRequest(method: "POST", target: "/checkv2", headers: headers, body: message).serialize()
    }

    private static func remaining(_ deadline: UInt64) -> Int32 {
        let now = DispatchTime.now().uptimeNanoseconds
        return now >= deadline ? 0 : Int32(min((deadline - now) / 1_000_000, 60_000))
    }

    /// Connect, send, receive within the deadline. Blocks the pool thread.
    static func exchange(settings: RelayConfig.SpamFilter, deadline: UInt64, message: [UInt8], sender: String,
                         recipients: [String], clientIP: String, user: String?, queueID: String) -> Result<SpamVerdict, Failure> {
        let bytes = request(settings, message: message, sender: sender, recipients: recipients, clientIP: clientIP,
                            user: user, queueID: queueID)
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(settings.address.host, String(settings.address.port), &hints, &info) == 0, let ai = info else {
            return .failure(.unreachable("cannot parse \(settings.address)"))
        }
        defer { freeaddrinfo(info) }
        let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure(.unreachable(String(cString: strerror(errno)))) }
        defer { close(fd) }
        func wait(_ events: Int16) -> Result<Void, Failure> {
            var p = pollfd(fd: fd, events: events, revents: 0)
            while true {
                let ms = remaining(deadline)
                if ms == 0 { return .failure(.timeout) }
                let n = poll(&p, 1, ms)
                if n > 0 { return .success(()) }
                if n == 0 { return .failure(.timeout) }
                if errno != EINTR { return .failure(.unreachable(String(cString: strerror(errno)))) }
            }
        }
        if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return .failure(.unreachable(String(cString: strerror(errno)))) }
            if case .failure(let f) = wait(Int16(POLLOUT)) { return .failure(f) }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            guard err == 0 else { return .failure(.unreachable(String(cString: strerror(err)))) }
        }
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL)) }
            if n > 0 { off += n; continue }
            guard n < 0, errno == EAGAIN || errno == EINTR else { return .failure(.unreachable("write failed")) }
            if case .failure(let f) = wait(Int16(POLLOUT)) { return .failure(f) }
        }
        var parser = HTTPResponseParser(maxHeaderBytes: 16 * 1024, maxBodyBytes: 4 << 20)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                parser.feed(buffer[0..<n])
                switch parser.next() {
                case .response(let r): return verdict(r)
                case .error(let e): return .failure(.badResponse("\(e)"))
                case .needMore: continue
                }
            }
            if n == 0 {
                switch parser.finish() {
                case .response(let r): return verdict(r)
                case .error(let e): return .failure(.badResponse("\(e)"))
                case .needMore: return .failure(.badResponse("connection closed mid-response"))
                }
            }
            guard errno == EAGAIN || errno == EINTR else { return .failure(.unreachable(String(cString: strerror(errno)))) }
            if case .failure(let f) = wait(Int16(POLLIN)) { return .failure(f) }
        }
    }

    private static func verdict(_ r: HTTPResponse) -> Result<SpamVerdict, Failure> {
        guard r.status == 200 else { return .failure(.badResponse("HTTP \(r.status)")) }
        guard let v = SpamVerdict(rspamdJSON: r.body) else { return .failure(.badResponse("not a /checkv2 verdict")) }
        return .success(v)
    }
}
