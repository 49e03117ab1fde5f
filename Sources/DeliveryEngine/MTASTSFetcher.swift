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
        let request = "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: sendarix\r\n"
            + "Accept: text/plain\r\nConnection: close\r\n\r\n"
        let exchange = HTTPClientExchange(host: host, request: Array(request.utf8), context: context, timeout: timeout,
                                          maxBodyBytes: Self.maxBodyBytes) { result in
            let outcome = Self.policy(result, host: host)
            box.withLock { if $0 == nil { $0 = outcome } }
            done.signal()
        }
        loop.execute { exchange.start(to: target, loop: loop) }
        if done.wait(timeout: .now() + timeout + 1) == .timedOut {
            loop.execute { exchange.cancel() }
            return .failure(Failure(resultType: .stsPolicyFetchError, reason: "\(host): timed out after \(timeout) s"))
        }
        return box.withLock { $0! }
    }

    /// The policy body of a response (a 200 with a `text/plain` body), or why not. Pure.
    static func policy(_ result: Result<HTTPResponse, HTTPClientExchange.Failure>, host: String) -> Result<String, Failure> {
        func fetchError(_ why: String) -> Result<String, Failure> {
            .failure(Failure(resultType: .stsPolicyFetchError, reason: "\(host): \(why)"))
        }
        switch result {
        case .failure(.timedOut(let t)): return fetchError("timed out after \(t) s")
        case .failure(.connect(let e)): return fetchError("connect: \(e)")
        case .failure(.tls(let verify, let reason)):
            let why = verify != 0 ? "certificate verification failed (X509 error \(verify))" : "TLS handshake failed: \(reason)"
            return .failure(Failure(resultType: .stsWebpkiInvalid, reason: "\(host): \(why)"))
        case .failure(.closed(let e)): return fetchError(e)
        case .failure(.badResponse(let e)): return fetchError("bad HTTP response: \(e)")
        case .failure(.cancelled): return fetchError("cancelled")
        case .success(let response):
            guard response.status == 200 else { return fetchError("HTTP status \(response.status)") }
            let type = response.headers.values("Content-Type").first?.lowercased() ?? ""
            guard type.hasPrefix("text/plain") else { return fetchError("Content-Type '\(type)' is not text/plain") }
            return .success(String(decoding: response.body, as: UTF8.self))
        }
    }
}
