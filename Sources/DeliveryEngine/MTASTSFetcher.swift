import DNSService
import DeliveryCore
import Dispatch
import HTTPCore
import NetworkIO
import Synchronization

/// Fetches a domain's MTA-STS policy body: `GET https://mta-sts.<domain>/.well-known/mta-sts.txt`
/// (RFC 8461 §3.3) over a NetworkIO `Connection` with TLS verified against the delivery trust
/// store (system or `caFile`) and the policy host name. Only a `200` with a `text/plain` body of
/// at most 64 KiB counts; redirects are not followed. The whole fetch is bounded by `timeout`.
///
/// `fetch` BLOCKS the calling thread (a delivery DNS worker) while the I/O runs on an event loop.
/// Immutable; any thread.
final class MTASTSFetcher: Sendable {
    /// Why no policy body was obtained, as RFC 8460 result types tell it.
    struct Failure: Error, Sendable, Equatable {
        /// `sts-policy-fetch-error` or `sts-webpki-invalid`.
        var resultType: TLSReport.ResultType
        /// What happened.
        var reason: String
    }

    /// Largest policy body accepted.
    static let maxBodyBytes = 64 * 1024

    let resolver: DNSResolver
    let loops: [EventLoop]
    let context: TLSContext?
    let port: UInt16
    let timeout: Double
    private let loopIndex = Atomic<Int>(0)

    init(resolver: DNSResolver, loops: [EventLoop], context: TLSContext?, port: UInt16, timeout: Double) {
        self.resolver = resolver
        self.loops = loops
        self.context = context
        self.port = port
        self.timeout = timeout
    }

    /// The policy body of `domain`. BLOCKS on DNS and HTTPS (at most about `timeout` seconds for
    /// the HTTPS part).
    func fetch(domain: String) -> Result<String, Failure> {
        let host = "mta-sts." + domain
        let addresses = resolver.resolveHost(host)
        guard let address = addresses.addresses.first else {
            let why = addresses.temporaryFailure ?? (addresses.nxdomain ? "NXDOMAIN" : "no address")
            return .failure(Failure(resultType: .stsPolicyFetchError, reason: "\(host): \(why)"))
        }
        guard let context else {
            return .failure(Failure(resultType: .stsPolicyFetchError, reason: "no TLS client context"))
        }
        guard let target = try? SocketAddress(ip: address, port: port) else {
            return .failure(Failure(resultType: .stsPolicyFetchError, reason: "\(host): bad address \(address)"))
        }
        let loop = loops[loopIndex.add(1, ordering: .relaxed).oldValue % loops.count]
        let done = DispatchSemaphore(value: 0)
        let box = Mutex<Result<String, Failure>?>(nil)
        let timeout = self.timeout
        let request = HTTPSPolicyRequest(host: host, context: context, timeout: timeout) { result in
            box.withLock { if $0 == nil { $0 = result } }
            done.signal()
        }
        loop.execute { request.start(to: target, loop: loop) }
        if done.wait(timeout: .now() + timeout + 1) == .timedOut {
            loop.execute { request.cancel() }
            return .failure(Failure(resultType: .stsPolicyFetchError, reason: "\(host): timed out after \(timeout) s"))
        }
        return box.withLock { $0! }
    }
}

/// One HTTPS GET of the policy file, driven on an event loop. Loop-confined after `start`.
private final class HTTPSPolicyRequest: ConnectionDelegate, @unchecked Sendable {
    // Safe: created on the caller's thread, then touched only on the loop's thread.
    let host: String
    let context: TLSContext
    let timeout: Double
    let completion: @Sendable (Result<String, MTASTSFetcher.Failure>) -> Void
    private var connection: Connection?
    private var parser = HTTPResponseParser(maxHeaderBytes: 16 * 1024, maxBodyBytes: MTASTSFetcher.maxBodyBytes)
    private var handshaking = false
    private var finished = false
    private var timer: UInt64?
    private weak var loop: EventLoop?

    init(host: String, context: TLSContext, timeout: Double,
         completion: @escaping @Sendable (Result<String, MTASTSFetcher.Failure>) -> Void) {
        self.host = host
        self.context = context
        self.timeout = timeout
        self.completion = completion
    }

    func start(to address: SocketAddress, loop: EventLoop) {
        self.loop = loop
        timer = loop.schedule(after: timeout) { [self] in
            self.finish(.failure(.init(resultType: .stsPolicyFetchError, reason: "\(self.host): timed out after \(self.timeout) s")))
        }
        do {
            connection = try Connection.connect(to: address, loop: loop, timeout: timeout, delegate: self)
        } catch {
            finish(.failure(.init(resultType: .stsPolicyFetchError, reason: "\(host): connect: \(error)")))
        }
    }

    func cancel() {
        finish(.failure(.init(resultType: .stsPolicyFetchError, reason: "\(host): cancelled")))
    }

    func connectionDidConnect(_ connection: Connection) {
        handshaking = true
        connection.startTLS(context: context, asClient: true, serverName: host, verifyHost: true)
    }

    func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {
        handshaking = false
        let request = "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: sendarix\r\n"
            + "Accept: text/plain\r\nConnection: close\r\n\r\n"
        connection.write(Array(request.utf8))
    }

    func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
        parser.feed(bytes)
        evaluate(parser.next())
    }

    func connectionDidClose(_ connection: Connection, error: NetworkError?) {
        if handshaking {
            let verify = connection.peerVerifyResult ?? 0
            let why = verify != 0 ? "certificate verification failed (X509 error \(verify))" : "TLS handshake failed: \(error.map { "\($0)" } ?? "closed")"
            finish(.failure(.init(resultType: .stsWebpkiInvalid, reason: "\(host): \(why)")))
            return
        }
        if let error, !finished {
            finish(.failure(.init(resultType: .stsPolicyFetchError, reason: "\(host): \(error)")))
            return
        }
        evaluate(parser.finish())
        if !finished { finish(.failure(.init(resultType: .stsPolicyFetchError, reason: "\(host): connection closed early"))) }
    }

    private func evaluate(_ event: HTTPResponseParser.Event) {
        switch event {
        case .needMore:
            return
        case .error(let e):
            finish(.failure(.init(resultType: .stsPolicyFetchError, reason: "\(host): bad HTTP response: \(e)")))
        case .response(let response):
            guard response.status == 200 else {
                finish(.failure(.init(resultType: .stsPolicyFetchError, reason: "\(host): HTTP status \(response.status)")))
                return
            }
            let type = response.headers.values("Content-Type").first?.lowercased() ?? ""
            guard type.hasPrefix("text/plain") else {
                finish(.failure(.init(resultType: .stsPolicyFetchError, reason: "\(host): Content-Type '\(type)' is not text/plain")))
                return
            }
            finish(.success(String(decoding: response.body, as: UTF8.self)))
        }
    }

    private func finish(_ result: Result<String, MTASTSFetcher.Failure>) {
        guard !finished else { return }
        finished = true
        if let timer { loop?.cancelTimer(timer) }
        timer = nil
        if let connection {
            connection.delegate = nil
            connection.abort()
        }
        connection = nil
        completion(result)
    }
}
