import HTTPCore
import NetworkIO

/// One HTTP/1.x request and its response over a NetworkIO `Connection` on an event loop: plain or
/// TLS (client role, SNI and host-name verification against the context's trust store), the whole
/// exchange bounded by `timeout`, the answer read with `HTTPResponseParser`. Used for MTA-STS
/// policy fetches and webhook calls. Loop-confined after `start`; the completion runs once, on the
/// loop's thread.
public final class HTTPClientExchange: ConnectionDelegate, @unchecked Sendable {
    // Safe: created on the caller's thread, then touched only on the loop's thread.

    /// Why no response came back.
    public enum Failure: Error, Sendable, Equatable {
        /// No complete response within the timeout (seconds).
        case timedOut(Double)
        /// The connection could not be started.
        case connect(String)
        /// The TLS handshake failed; `verifyResult` is the X509 verification result (0: the
        /// certificate was not the reason).
        case tls(verifyResult: Int, reason: String)
        /// The connection failed or closed before a complete response.
        case closed(String)
        /// The response was malformed or over a limit.
        case badResponse(String)
        /// `cancel()` was called.
        case cancelled
    }

    let host: String
    let request: [UInt8]
    let context: TLSContext?
    let timeout: Double
    let completion: @Sendable (Result<HTTPResponse, Failure>) -> Void
    private var connection: Connection?
    private var parser: HTTPResponseParser
    private var handshaking = false
    private var finished = false
    private var timer: UInt64?
    private weak var loop: EventLoop?
    /// Keep-alive (optional, set before `start`): an open connection left by an earlier exchange
    /// to send this request on instead of connecting.
    public var reuse: Connection?
    /// Keep-alive (optional): receives the connection, instead of it being closed, when a
    /// response ends with the connection reusable (framed by length or chunks, no `Connection:
    /// close`). Runs on the loop's thread.
    public var onReusable: ((Connection) -> Void)?
    private var reused = false
    private var receivedAny = false
    private var address: SocketAddress?

    /// `request` is sent as it is once connected (after the TLS handshake when `context` is set,
    /// with `host` as SNI and verified name). Any thread.
    public init(host: String, request: [UInt8], context: TLSContext?, timeout: Double, maxBodyBytes: Int,
                completion: @escaping @Sendable (Result<HTTPResponse, Failure>) -> Void) {
        self.host = host
        self.request = request
        self.context = context
        self.timeout = timeout
        self.completion = completion
        parser = HTTPResponseParser(maxHeaderBytes: 16 * 1024, maxBodyBytes: maxBodyBytes)
    }

    /// Connects to `address` and sends the request. Loop thread only.
    public func start(to address: SocketAddress, loop: EventLoop) {
        self.loop = loop
        self.address = address
        timer = loop.schedule(after: timeout) { [self] in self.finish(.failure(.timedOut(self.timeout))) }
        if let c = reuse {
            reuse = nil
            reused = true
            connection = c
            c.delegate = self
            c.write(request)
            return
        }
        do {
            connection = try Connection.connect(to: address, loop: loop, timeout: timeout, delegate: self)
        } catch {
            finish(.failure(.connect("\(error)")))
        }
    }

    /// Ends the exchange now with `.cancelled`. Loop thread only.
    public func cancel() { finish(.failure(.cancelled)) }

    public func connectionDidConnect(_ connection: Connection) {
        if let context {
            handshaking = true
            connection.startTLS(context: context, asClient: true, serverName: host, verifyHost: true)
        } else {
            connection.write(request)
        }
    }

    public func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {
        handshaking = false
        connection.write(request)
    }

    public func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
        receivedAny = true
        parser.feed(bytes)
        evaluate(parser.next())
    }

    public func connectionDidClose(_ connection: Connection, error: NetworkError?) {
        // A kept-alive connection the server closed before answering: send on a new one.
        if reused && !receivedAny && !finished, let address, let loop {
            reused = false
            do {
                self.connection = try Connection.connect(to: address, loop: loop, timeout: timeout, delegate: self)
            } catch {
                finish(.failure(.connect("\(error)")))
            }
            return
        }
        if handshaking {
            let verify = connection.peerVerifyResult ?? 0
            finish(.failure(.tls(verifyResult: verify, reason: error.map { "\($0)" } ?? "closed")))
            return
        }
        if let error, !finished {
            finish(.failure(.closed("\(error)")))
            return
        }
        evaluate(parser.finish())
        if !finished { finish(.failure(.closed("connection closed early"))) }
    }

    private func evaluate(_ event: HTTPResponseParser.Event) {
        switch event {
        case .needMore: return
        case .error(let e): finish(.failure(.badResponse("\(e)")))
        case .response(let r): finish(.success(r))
        }
    }

    private func finish(_ result: Result<HTTPResponse, Failure>) {
        guard !finished else { return }
        finished = true
        if let timer { loop?.cancelTimer(timer) }
        timer = nil
        if let connection {
            connection.delegate = nil
            if case .success(let r) = result, let onReusable, Self.keepsAlive(r) {
                onReusable(connection)
            } else {
                connection.abort()
            }
        }
        connection = nil
        onReusable = nil
        completion(result)
    }

    /// Whether the connection can carry another request after `r`: the body was framed (by
    /// length or chunks, not by the close) and the server did not say `Connection: close`.
    static func keepsAlive(_ r: HTTPResponse) -> Bool {
        let framed = !r.headers.values("Content-Length").isEmpty
            || r.headers.values("Transfer-Encoding").contains { $0.lowercased().contains("chunked") }
        return framed && !r.headers.values("Connection").contains { $0.lowercased().contains("close") }
    }
}
