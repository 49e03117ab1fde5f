import Foundation
import SendarixSupport
import Testing
@testable import SMTPCore

/// `MessageAssembler.assemble` builds its added fields as bytes (once per accepted message); these
/// tests hold it to the string-interpolating version it replaced, byte for byte.
@Suite("Stored message assembly: byte building equals the string version")
struct MessageAssemblerEquivalenceTests {
    /// The `Received:` field as it was built before (the oracle).
    static func oldReceivedHeader(helo: String, clientAddress: String, hostname: String, protocolName: String,
                                  tls: SMTPSession.TLSInfo?, queueID: String, recipient: SMTPAddress?, date: Date) -> String {
        let literal = clientAddress.contains(":") ? "[IPv6:\(clientAddress)]" : "[\(clientAddress)]"
        var header = "Received: from \(oldSanitize(helo)) (\(literal))\r\n"
        header += "\tby \(hostname) (Sendarix) with \(protocolName)"
        if let tls {
            header += " (version=\(oldSanitize(tls.version)) cipher=\(oldSanitize(tls.cipher)))"
        }
        header += "\r\n\tid \(queueID)"
        if let recipient {
            header += " for <\(recipient.address)>"
        }
        header += "; \(RFC5322Date.string(from: date))\r\n"
        return header
    }

    static func oldSanitize(_ text: String) -> String {
        let bytes = text.utf8.prefix(255).map { byte -> UInt8 in
            (byte > 0x20 && byte < 0x7F && byte != 0x28 && byte != 0x29 && byte != 0x5C) ? byte : 0x3F
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The stored message as it was assembled before (the oracle).
    static func oldAssemble(body: [UInt8], envelope: SMTPSession.Envelope, hostname: String,
                            protocolName: String, addSubmissionFields: Bool) -> [UInt8] {
        var head = oldReceivedHeader(
            helo: envelope.heloName, clientAddress: envelope.clientAddress, hostname: hostname,
            protocolName: protocolName, tls: envelope.tlsInfo, queueID: envelope.queueID,
            recipient: envelope.recipients.count == 1 ? envelope.recipients[0].address : nil,
            date: envelope.receivedAt)
        if addSubmissionFields {
            if !MessageAssembler.headerSection(of: body, contains: "message-id") {
                head += "Message-ID: <\(envelope.queueID)@\(hostname)>\r\n"
            }
            if !MessageAssembler.headerSection(of: body, contains: "date") {
                head += "Date: \(RFC5322Date.string(from: envelope.receivedAt))\r\n"
            }
        }
        return Array(head.utf8) + body
    }

    static let texts: [String] = [
        "", "client.test", "mx.example.com", "a(b)c\\d", "caf\u{E9}", "e\u{301}", "🙂", "tab\there", "cr\r\nlf",
        "\"quoted\"", "x@y", "[192.0.2.1]", String(repeating: "h", count: 300), String(repeating: "é", count: 200),
    ]
    static let clients = ["192.0.2.10", "2001:db8::7", "::1", "127.0.0.1", "", "weird:\u{301}"]
    static let bodies: [String] = [
        "", "x\r\n", "Subject: s\r\n\r\nbody\r\n", "Message-ID: <own@x>\r\n\r\nb\r\n", "DATE : Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n",
        "message-id: <a>\r\ndate: x\r\n\r\n", "Subject: s\r\n\r\nDate: in body\r\n", "Caf\u{E9} 8-bit\r\n",
        String(repeating: "long line ", count: 800) + "\r\n",
    ]

    @Test("Scenario: 5,000 seeded random envelopes (HELO, client, TLS, recipients, dates, bodies); same bytes as before")
    func randomEnvelopesMatchTheStringVersion() throws {
        var rng = SplitMix64(seed: 0x0A55_E3B1_E000_0026)
        var withMessageID = 0
        for i in 0..<5_000 {
            let recipientCount = Int.random(in: 0...3, using: &rng)
            let recipients = (0..<recipientCount).map { n in
                SMTPSession.Recipient(address: SMTPAddress(localPart: Self.texts.randomElement(using: &rng)! + "\(n)",
                                                           domain: Self.texts.randomElement(using: &rng)!))
            }
            let tls = Bool.random(using: &rng)
                ? SMTPSession.TLSInfo(version: Self.texts.randomElement(using: &rng)!, cipher: Self.texts.randomElement(using: &rng)!)
                : nil
            let envelope = SMTPSession.Envelope(
                queueID: "Q\(i)" + (Bool.random(using: &rng) ? Self.texts.randomElement(using: &rng)! : ""), mailFrom: nil,
                recipients: recipients, bodyType: .sevenBit, smtpUTF8: false, declaredSize: nil, dsnReturn: nil,
                envelopeID: nil, authenticatedUser: nil, tenant: nil, clientAddress: Self.clients.randomElement(using: &rng)!,
                clientPort: 25, heloName: Self.texts.randomElement(using: &rng)!, tlsInfo: tls, portKind: .relay,
                receivedAt: Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000...8_000_000_000, using: &rng)) + 0.75))
            let body = Array(Self.bodies.randomElement(using: &rng)!.utf8)
            let hostname = Self.texts.randomElement(using: &rng)!
            let protocolName = ["SMTP", "ESMTP", "ESMTPSA", "UTF8SMTPS"].randomElement(using: &rng)!
            let add = Bool.random(using: &rng)
            let expected = Self.oldAssemble(body: body, envelope: envelope, hostname: hostname, protocolName: protocolName,
                                            addSubmissionFields: add)
            let actual = MessageAssembler.assemble(body: body, envelope: envelope, hostname: hostname, protocolName: protocolName,
                                                   addSubmissionFields: add)
            #expect(actual == expected, "case \(i)")
            if actual != expected { return }
            if add, expected.count > body.count, String(decoding: expected, as: UTF8.self).contains("Message-ID: <Q") { withMessageID += 1 }
            let header = MessageAssembler.receivedHeader(
                helo: envelope.heloName, clientAddress: envelope.clientAddress, hostname: hostname, protocolName: protocolName,
                tls: tls, queueID: envelope.queueID, recipient: recipients.first?.address, date: envelope.receivedAt)
            #expect(header == Self.oldReceivedHeader(
                helo: envelope.heloName, clientAddress: envelope.clientAddress, hostname: hostname, protocolName: protocolName,
                tls: tls, queueID: envelope.queueID, recipient: recipients.first?.address, date: envelope.receivedAt))
        }
        // The added-field branch must have run, or it was not compared.
        #expect(withMessageID > 500)
    }
}
