import DeliveryEngine
import Foundation
import HTTPCore

/// The HTTP side of one webhook call: the request bytes (`POST` with the Standard Webhooks
/// headers) and what an exchange's result means for the attempt. The I/O is an
/// `HTTPClientExchange` on an event loop. Pure; any thread.
enum WebhookHTTPCall {
    /// What came back.
    struct Answer: Sendable, Equatable {
        /// HTTP status, 0 when there was no answer.
        var status: Int
        /// `Retry-After` in ms, when given in seconds.
        var retryAfterMillis: Int64?
        /// The start of the body, or the local error.
        var snippet: String
    }

    /// Body bytes kept for the attempts view.
    static let snippetBytes = 512
    /// Largest answer body read.
    static let maxBodyBytes = 256 * 1024

    /// The request bytes: `POST path` with the Standard Webhooks headers.
    static func request(target: WebhookTarget, webhookID: String, timestamp: Int64, signature: String,
                        body: [UInt8]) -> [UInt8] {
        var head = "POST \(target.path) HTTP/1.1\r\nHost: \(target.hostHeader)\r\nUser-Agent: sendarix-webhooks\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        head += "webhook-id: \(webhookID)\r\nwebhook-timestamp: \(timestamp)\r\nwebhook-signature: \(signature)\r\n\r\n"
        // One array of the final size: the body (a batch: tens of KB) is copied once.
        var out: [UInt8] = []
        out.reserveCapacity(head.utf8.count + body.count)
        out += head.utf8
        out += body
        return out
    }

    /// The answer an exchange's result stands for.
    static func answer(_ result: Result<HTTPResponse, HTTPClientExchange.Failure>) -> Answer {
        switch result {
        case .success(let r):
            let retry = r.headers.values("Retry-After").first.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            return Answer(status: r.status, retryAfterMillis: retry.map { max(0, $0) * 1000 },
                          snippet: String(decoding: r.body.prefix(snippetBytes), as: UTF8.self))
        case .failure(.timedOut(let t)): return Answer(status: 0, snippet: "timed out after \(t) s")
        case .failure(.connect(let e)): return Answer(status: 0, snippet: "connect: \(e)")
        case .failure(.tls(let verify, let reason)):
            return Answer(status: 0, snippet: verify != 0 ? "certificate verification failed (X509 error \(verify))"
                          : "TLS handshake failed: \(reason)")
        case .failure(.closed(let e)): return Answer(status: 0, snippet: e)
        case .failure(.badResponse(let e)): return Answer(status: 0, snippet: "bad HTTP answer: \(e)")
        case .failure(.cancelled): return Answer(status: 0, snippet: "cancelled")
        }
    }
}
