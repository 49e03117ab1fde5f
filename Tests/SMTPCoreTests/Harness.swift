import Foundation
import Synchronization
@testable import SMTPCore

/// Deterministic queue IDs Q1, Q2, ... for one test.
final class QueueIDSource: Sendable {
    private let counter = Mutex(0)

    func next() -> String {
        counter.withLock { value in
            value += 1
            return "Q\(value)"
        }
    }
}

/// 2026-11-29 09:47:19 UTC, a Sunday.
let fixedDate = Date(timeIntervalSince1970: 1_795_945_639)

/// Drives one session like the shell would and records what it was asked to do.
struct Harness {
    var session: SMTPSession
    /// Everything sent to the client so far.
    var transcript = ""
    var enqueued: [(envelope: SMTPSession.Envelope, message: [UInt8])] = []
    var authRequests: [SMTPSession.AuthRequest] = []
    var logs: [SMTPSession.LogEvent] = []
    var startTLSCount = 0
    var closed = false
    var lastActions: [SMTPSession.Action] = []

    init(_ configuration: SMTPSession.Configuration = .init(hostname: "mx.test"),
         context: SMTPSession.ConnectionContext = .init(clientAddress: "192.0.2.10", clientPort: 40000, sessionID: "s1"),
         budget: BodyMemoryBudget? = nil, recipientCheck: (@Sendable (String) -> Bool?)? = nil) {
        let ids = QueueIDSource()
        var environment = SMTPSession.Environment(now: { fixedDate }, makeQueueID: { ids.next() }, bodyBudget: budget)
        environment.recipientCheck = recipientCheck
        session = SMTPSession(configuration: configuration, context: context, environment: environment)
        record(session.start())
    }

    /// Convenience: a submission session already over TLS (as on port 465).
    static func tls(_ configuration: SMTPSession.Configuration = .init(hostname: "mx.test", portKind: .smtps),
                    trusted: Bool = false) -> Harness {
        Harness(configuration, context: .init(clientAddress: "192.0.2.10", clientPort: 40000, isTrustedNetwork: trusted,
                                              isTLS: true, tlsInfo: .init(version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384"),
                                              sessionID: "s1"))
    }

    /// A TLS submission session that has said EHLO and authenticated as `alice`.
    static func authenticated(_ configuration: SMTPSession.Configuration = .init(hostname: "mx.test", portKind: .smtps)) -> Harness {
        var harness = Harness.tls(configuration)
        harness.input("EHLO client.test\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
        harness.completeAuth(.success(user: "alice", tenant: "acme"))
        return harness
    }

    /// Feeds text and returns what this call sent.
    @discardableResult
    mutating func input(_ text: String) -> String {
        input(Array(text.utf8))
    }

    /// Feeds bytes and returns what this call sent.
    @discardableResult
    mutating func input(_ bytes: [UInt8]) -> String {
        record(session.receive(bytes[...]))
    }

    @discardableResult
    mutating func completeAuth(_ result: SMTPSession.AuthResult) -> String {
        record(session.authenticationCompleted(result))
    }

    @discardableResult
    mutating func completeEnqueue(_ result: SMTPSession.EnqueueResult) -> String {
        record(session.enqueueCompleted(result))
    }

    @discardableResult
    mutating func finishTLS() -> String {
        record(session.tlsEstablished(.init(version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256")))
    }

    @discardableResult
    mutating func record(_ actions: [SMTPSession.Action]) -> String {
        lastActions = actions
        var sent = ""
        var sends = 0
        for action in actions {
            switch action {
            case .send(let bytes):
                sends += 1
                sent += String(decoding: bytes, as: UTF8.self)
            case .startTLS: startTLSCount += 1
            case .authenticate(let request): authRequests.append(request)
            case .enqueue(let envelope, let message): enqueued.append((envelope, message))
            case .log(let event): logs.append(event)
            case .close: closed = true
            }
        }
        precondition(sends <= 1, "replies of one call must be batched into one send")
        transcript += sent
        return sent
    }

    /// Reply codes (of final reply lines) in `text`.
    static func codes(_ text: String) -> [Int] {
        text.split(separator: "\r\n").compactMap { line in
            line.count >= 4 && line[line.index(line.startIndex, offsetBy: 3)] == " " ? Int(line.prefix(3)) : nil
        }
    }

    /// The stored message of the n-th enqueue as text.
    func message(_ index: Int = 0) -> String {
        String(decoding: enqueued[index].message, as: UTF8.self)
    }
}
