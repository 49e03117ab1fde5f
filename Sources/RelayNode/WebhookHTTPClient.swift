import Dispatch
import Foundation
import HTTPCore
import NetworkIO
import Synchronization

/// One webhook POST over a NetworkIO `Connection` on an event loop: plain HTTP or HTTPS with the
/// certificate verified against the trust store and the URL's host name, the whole call bounded
/// by a timeout, the answer read with `HTTPResponseParser`. Loop-confined after `start`; the
/// completion runs once, on the loop's thread.
final class WebhookHTTPCall: ConnectionDelegate, @unchecked Sendable {
    // Safe: created on the dispatcher's thread, then touched only on the loop's thread.

    /// What came back.
    struct Answer: Sendable, Equatable {
        /// HTTP status, 0 when there was no answer.
        var status: Int
        /// `Retry-After` in ms, when given (seconds or an HTTP date is not parsed: seconds only).
        var retryAfterMillis: Int64?
        /// The start of the body, or the local error.
        var snippet: String
    }

    /// Body bytes kept for the attempts view.
    static let snippetBytes = 512

    let host: String
    let request: [UInt8]
    let context: TLSContext?
    let timeout: Double
    let completion: @Sendable (Answer) -> Void
    private var connection: Connection?
    private var parser = HTTPResponseParser(maxHeaderBytes: 16 * 1024, maxBodyBytes: 256 * 1024)
    private var handshaking = false
    private var finished = false
    private var timer: UInt64?
    private weak var loop: EventLoop?

    init(host: String, request: [UInt8], context: TLSContext?, timeout: Double,
         completion: @escaping @Sendable (Answer) -> Void) {
        self.host = host
        self.request = request
        self.context = context
        self.timeout = timeout
        self.completion = completion
    }

    /// Connects to `address` and sends the request. Loop thread only.
    func start(to address: SocketAddress, loop: EventLoop) {
        self.loop = loop
        timer = loop.schedule(after: timeout) { [self] in
            self.finish(Answer(status: 0, snippet: "timed out after \(self.timeout) s"))
        }
        do {
            connection = try Connection.connect(to: address, loop: loop, timeout: timeout, delegate: self)
        } catch {
            finish(Answer(status: 0, snippet: "connect: \(error)"))
        }
    }

    func connectionDidConnect(_ connection: Connection) {
        if let context {
            handshaking = true
            connection.startTLS(context: context, asClient: true, serverName: host, verifyHost: true)
        } else {
            connection.write(request)
        }
    }

    func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {
        handshaking = false
        connection.write(request)
    }

    func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
        parser.feed(bytes)
        evaluate(parser.next())
    }

    func connectionDidClose(_ connection: Connection, error: NetworkError?) {
        if handshaking {
            let verify = connection.peerVerifyResult ?? 0
            let why = verify != 0 ? "certificate verification failed (X509 error \(verify))"
                : "TLS handshake failed: \(error.map { "\($0)" } ?? "closed")"
            finish(Answer(status: 0, snippet: why))
            return
        }
        if let error, !finished {
            finish(Answer(status: 0, snippet: "\(error)"))
            return
        }
        evaluate(parser.finish())
        if !finished { finish(Answer(status: 0, snippet: "connection closed before an answer")) }
    }

    private func evaluate(_ event: HTTPResponseParser.Event) {
        switch event {
        case .needMore:
            return
        case .error(let e):
            finish(Answer(status: 0, snippet: "bad HTTP answer: \(e)"))
        case .response(let r):
            let retry = r.headers.values("Retry-After").first.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            let snippet = String(decoding: r.body.prefix(Self.snippetBytes), as: UTF8.self)
            finish(Answer(status: r.status, retryAfterMillis: retry.map { max(0, $0) * 1000 }, snippet: snippet))
        }
    }

    /// Ends the call once (timeout, error or answer). Loop thread only.
    func finish(_ answer: Answer) {
        guard !finished else { return }
        finished = true
        if let timer { loop?.cancelTimer(timer) }
        timer = nil
        if let connection {
            connection.delegate = nil
            connection.abort()
        }
        connection = nil
        completion(answer)
    }

    /// The request bytes: `POST path` with the Standard Webhooks headers.
    static func request(target: WebhookTarget, webhookID: String, timestamp: Int64, signature: String,
                        body: [UInt8]) -> [UInt8] {
        var head = "POST \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUser-Agent: sendarix-webhooks\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        head += "webhook-id: \(webhookID)\r\nwebhook-timestamp: \(timestamp)\r\nwebhook-signature: \(signature)\r\n\r\n"
        return Array(head.utf8) + body
    }
}
