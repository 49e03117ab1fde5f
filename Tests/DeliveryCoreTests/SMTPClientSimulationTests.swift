import Testing
import DeliveryCore
import SendarixSupport

/// A minimal scripted SMTP server: parses what the client sends and answers per recipient.
struct FakeServer {
    var verdicts: [String: Int]          // RCPT address -> reply code
    var finalCode: Int                   // reply to the end of the message
    var advertise: [String]
    private var buffer: [UInt8] = []
    private var mode = Mode.command
    private var accepted = 0
    private(set) var messages: [[UInt8]] = []
    private var current: [UInt8] = []

    enum Mode { case command, data, bdat(remaining: Int, last: Bool) }

    init(verdicts: [String: Int], finalCode: Int, advertise: [String]) {
        self.verdicts = verdicts
        self.finalCode = finalCode
        self.advertise = advertise
    }

    /// Consumes client bytes, returns the server's replies.
    mutating func consume(_ bytes: [UInt8]) -> String {
        buffer += bytes
        var out = ""
        while true {
            switch mode {
            case .bdat(let remaining, let last):
                guard buffer.count >= remaining else {
                    if remaining > 0 { return out }
                    break
                }
                current += buffer[..<remaining]
                buffer.removeFirst(remaining)
                mode = .command
                if last {
                    messages.append(current)
                    current = []
                    out += "\(finalCode) final\r\n"
                } else {
                    out += "250 2.0.0 chunk ok\r\n"
                }
                continue
            case .data:
                guard let end = find([13, 10, 46, 13, 10], in: buffer, from: 0, atStart: true) else { return out }
                var body = Array(buffer[..<end.start])
                buffer.removeFirst(end.end)
                body = unstuff(body)
                messages.append(body)
                mode = .command
                out += "\(finalCode) final\r\n"
                continue
            case .command:
                guard let newline = buffer.firstIndex(of: 10) else { return out }
                let line = String(decoding: buffer[..<(newline - 1)], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                out += reply(to: line)
            }
        }
    }

    private mutating func reply(to line: String) -> String {
        let upper = line.uppercased()
        if upper.hasPrefix("EHLO") {
            return ehloReply(advertise)
        } else if upper.hasPrefix("MAIL FROM:") {
            accepted = 0
            return "250 2.1.0 ok\r\n"
        } else if upper.hasPrefix("RCPT TO:<") {
            let address = String(line.dropFirst(9).prefix { $0 != ">" })
            let code = verdicts[address] ?? 250
            if code < 300 { accepted += 1 }
            return "\(code) \(code / 100).1.1 verdict for \(address)\r\n"
        } else if upper == "DATA" {
            if accepted == 0 { return "554 5.5.1 no valid recipients\r\n" }
            mode = .data
            current = []
            return "354 go ahead\r\n"
        } else if upper.hasPrefix("BDAT ") {
            let parts = upper.split(separator: " ")
            mode = .bdat(remaining: Int(parts[1])!, last: parts.count > 2)
            return ""
        } else if upper == "RSET" {
            accepted = 0
            return "250 2.0.0 reset\r\n"
        } else if upper == "QUIT" {
            return "221 2.0.0 bye\r\n"
        }
        return "500 5.5.2 unknown command\r\n"
    }

    private func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, atStart: Bool) -> (start: Int, end: Int)? {
        // The body terminator may also be ".\r\n" at the very start (empty body).
        if haystack.starts(with: [46, 13, 10]) { return (0, 3) }
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return (index + 2, index + needle.count)
        }
        return nil
    }

    private func unstuff(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var atLineStart = true
        var index = 0
        while index < body.count {
            if atLineStart, body[index] == 46 {
                index += 1
                atLineStart = false
                continue
            }
            out.append(body[index])
            atLineStart = body[index] == 10
            index += 1
        }
        return out
    }
}

@Suite("SMTP client session against a simulated server")
struct SMTPClientSimulationTests {
    @Test("random verdicts, bodies and read splits: every recipient gets the server's verdict and bodies arrive intact",
          arguments: [
            ["PIPELINING", "8BITMIME"], ["8BITMIME"], ["PIPELINING", "CHUNKING", "8BITMIME"], ["CHUNKING", "8BITMIME"],
          ])
    func randomised(advertise: [String]) throws {
        var generator = SplitMix64(seed: UInt64(advertise.count * 31 + (advertise.first?.count ?? 0)))
        for _ in 0..<40 {
            var verdicts: [String: Int] = [:]
            var transactions: [Session.Transaction] = []
            for number in 0..<Int.random(in: 1...4, using: &generator) {
                let recipients = (0..<Int.random(in: 1...5, using: &generator)).map { "r\(number)-\($0)@example.com" }
                for recipient in recipients { verdicts[recipient] = [250, 250, 450, 550].randomElement(using: &generator)! }
                let lines = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                    [".", "..", "text", ".leading dot", "", "x\u{E9}"].randomElement(using: &generator)!
                }
                let body = "Subject: t\(number)\r\n\r\n" + lines.joined(separator: "\r\n")
                transactions.append(Session.Transaction(tag: UInt64(number), mailFrom: "s@relay.test",
                                                        recipients: recipients.map { Session.Recipient($0) },
                                                        message: Array(body.utf8)))
            }
            var configuration = Session.Configuration(heloName: "relay.test", tlsPolicy: .none)
            configuration.chunkSize = Int.random(in: 3...40, using: &generator)
            var server = FakeServer(verdicts: verdicts, finalCode: 250, advertise: advertise)
            var session = Session(configuration: configuration)
            var results: [Session.TransactionResult] = []
            var pending: [Session.Action] = session.receive(Array("220 fake ESMTP\r\n".utf8))
            for transaction in transactions { pending += session.submit(transaction) }
            pending += session.quit()
            var closed = false
            var rounds = 0
            while !pending.isEmpty, rounds < 10_000 {
                rounds += 1
                let action = pending.removeFirst()
                switch action {
                case .send(let bytes):
                    let reply = Array(server.consume(bytes).utf8)
                    // Deliver the server's bytes in random pieces.
                    var offset = 0
                    while offset < reply.count {
                        let end = min(reply.count, offset + Int.random(in: 1...12, using: &generator))
                        pending += session.receive(reply[offset..<end])
                        offset = end
                    }
                case .finished(let result): results.append(result)
                case .close: closed = true
                case .failed(let failure): Issue.record("unexpected failure \(failure)")
                case .ready, .startTLS, .commitPoint: break
                }
            }
            #expect(closed)
            #expect(results.map(\.tag) == transactions.map(\.tag))
            var delivered = 0
            for (result, transaction) in zip(results, transactions) {
                let anyAccepted = transaction.recipients.contains { verdicts[$0.address]! < 300 }
                for (outcome, recipient) in zip(result.recipients, transaction.recipients) {
                    let verdict = verdicts[recipient.address]!
                    #expect(outcome.address == recipient.address)
                    #expect(outcome.reply.code == (verdict < 300 ? 250 : verdict))
                }
                if anyAccepted { delivered += 1 }
                #expect(result.bodyTransmitted == anyAccepted)
            }
            let expectedBodies = zip(results, transactions).filter { result, _ in result.bodyTransmitted }.map { SMTPBody.canonical($0.1.message) }
            #expect(server.messages == expectedBodies)
            #expect(server.messages.count == delivered)
        }
    }
}
