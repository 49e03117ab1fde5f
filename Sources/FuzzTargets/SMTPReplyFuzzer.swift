import DeliveryCore

/// Fuzz target for what a remote SMTP server sends the delivery client: `SMTPReplyParser` (multi-line
/// replies, enhanced codes), bounce classification, retry hints, EHLO capability parsing, and the pure
/// `SMTPClientSession` driven through a whole transaction by those bytes. Pure.
///
/// Input: byte 0 = client options (TLS policy, pipelining, chunking, AUTH, 8-bit message, two
/// transactions), byte 1 = chunk size, rest = server bytes. Oracles: replies and client actions are the
/// same whether the server bytes arrive in one read or in chunks; at most one result per transaction.
public enum SMTPReplyFuzzer {
    /// Runs one input; traps on a broken invariant.
    public static func run(_ data: [UInt8]) {
        var input = FuzzInput(data)
        let options = input.byte()
        let chunkSize = Int(input.byte() % 64) + 1
        let payload = input.rest

        let whole = replies([payload])
        let split = replies(FuzzInput.chunks(payload, size: chunkSize))
        precondition(whole.replies == split.replies && whole.failed == split.failed,
                     """
                     SMTP replies depend on how the server's bytes are split:
                       one read: \(whole.replies.count) replies, failed \(whole.failed): \(whole.replies.map(\.description))
                       chunks:   \(split.replies.count) replies, failed \(split.failed): \(split.replies.map(\.description))
                     """)
        let classifier = BounceClassifier()
        for reply in whole.replies {
            _ = classifier.classify(reply)
            _ = RetryHint.seconds(in: reply.lines.joined(separator: " "))
            _ = SMTPClientSession.Capabilities(ehlo: reply)
            _ = reply.description
        }

        let wholeSession = drive([payload], options: options)
        let splitSession = drive(FuzzInput.chunks(payload, size: chunkSize), options: options)
        // After STARTTLS the client rightly drops what came in the same read as the 220 (plaintext
        // injection), so which bytes count as "inside TLS" depends on the split; compare only without it.
        let usedTLS = wholeSession.actions.contains { if case .startTLS = $0 { true } else { false } }
        if !usedTLS && wholeSession != splitSession {
            let index = zip(wholeSession.actions, splitSession.actions).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(wholeSession.actions.count, splitSession.actions.count)
            let sentWhole = String(decoding: wholeSession.sent, as: UTF8.self)
            let sentSplit = String(decoding: splitSession.sent, as: UTF8.self)
            preconditionFailure("""
                SMTP client behaviour depends on how the server's bytes are split; first different action #\(index):
                  one read: \(wholeSession.actions.dropFirst(index).first.map { "\($0)" } ?? "none")
                  chunks:   \(splitSession.actions.dropFirst(index).first.map { "\($0)" } ?? "none")
                  sent (one read): \(sentWhole.debugDescription)
                  sent (chunks):   \(sentSplit.debugDescription)
                """)
        }
    }

    static func replies(_ pieces: [ArraySlice<UInt8>]) -> (replies: [SMTPReply], failed: Bool) {
        var parser = SMTPReplyParser(maxLineLength: 512, maxLines: 20)
        var result: [SMTPReply] = []
        for piece in pieces {
            parser.feed(piece)
            while true {
                do {
                    guard let reply = try parser.nextReply() else { break }
                    precondition((100...599).contains(reply.code), "reply code out of range: \(reply.code)")
                    result.append(reply)
                } catch {
                    return (result, true)
                }
            }
        }
        return (result, false)
    }

    /// What the client did: all bytes it sent, and its other actions in order.
    struct Trace: Equatable {
        var sent: [UInt8] = []
        var actions: [SMTPClientSession.Action] = []
    }

    static func drive(_ pieces: [ArraySlice<UInt8>], options: UInt8) -> Trace {
        let policies = SMTPClientSession.TLSPolicy.allCases
        let configuration = SMTPClientSession.Configuration(
            heloName: "relay.example.test", tlsPolicy: policies[Int(options & 3) % policies.count],
            credentials: options & 4 != 0 ? .init(username: "u", password: "p") : nil,
            allowPlaintextAuth: options & 8 != 0, usePipelining: options & 16 != 0, useChunking: options & 32 != 0,
            chunkSize: 7)
        var session = SMTPClientSession(configuration: configuration)
        var trace = Trace()
        var results: [UInt64: Int] = [:]
        func record(_ actions: [SMTPClientSession.Action]) {
            for action in actions {
                switch action {
                case .send(let bytes):
                    trace.sent += bytes
                case .startTLS:
                    trace.actions.append(action)
                    record(session.tlsEstablished())
                case .finished(let result):
                    results[result.tag, default: 0] += 1
                    precondition(results[result.tag] == 1, "transaction \(result.tag) finished twice")
                    trace.actions.append(action)
                default:
                    trace.actions.append(action)
                }
            }
        }
        let body: [UInt8] = options & 64 != 0
            ? Array("Subject: caf\u{E9}\r\n\r\nna\u{EF}ve\r\n.dot\r\n".utf8)
            : Array("Subject: hi\r\n\r\nhello\r\n.dot\r\n".utf8)
        record(session.submit(.init(tag: 1, mailFrom: "a@example.test",
                                    recipients: [.init("b@example.org", notify: [.failure]), .init("c@example.org")],
                                    message: body, dsnReturn: .headers, envelopeID: "e+1")))
        if options & 128 != 0 {
            record(session.submit(.init(tag: 2, mailFrom: "", recipients: [.init("d@example.org")], message: body)))
        }
        for piece in pieces {
            if session.isClosed { break }
            record(session.receive(piece))
        }
        if !session.isClosed { record(session.connectionClosed()) }
        return trace
    }
}
