import Foundation

/// Builds the bytes stored for an accepted message: a `Received:` trace header (RFC 5321 4.4, RFC 3848),
/// `Message-ID:` and `Date:` when a submission lacks them (RFC 6409 8), then the body byte-exact.
/// Pure; does not block; called by `SMTPSession` and usable by tests.
public enum MessageAssembler {
    /// The `with` protocol keyword (RFC 3848; UTF8SMTP variants from RFC 6531 3.7.3).
    public static func protocolName(extended: Bool, tls: Bool, authenticated: Bool, smtpUTF8: Bool) -> String {
        guard extended else { return "SMTP" }
        let suffix = (tls ? "S" : "") + (authenticated ? "A" : "")
        return (smtpUTF8 ? "UTF8SMTP" : "ESMTP") + suffix
    }

    /// The `Received:` header field, folded over three lines, ending in CRLF.
    public static func receivedHeader(helo: String, clientAddress: String, hostname: String, protocolName: String,
                                      tls: SMTPSession.TLSInfo?, queueID: String, recipient: SMTPAddress?,
                                      date: Date) -> String {
        let literal = clientAddress.contains(":") ? "[IPv6:\(clientAddress)]" : "[\(clientAddress)]"
        var header = "Received: from \(sanitize(helo)) (\(literal))\r\n"
        header += "\tby \(hostname) (Sendarix) with \(protocolName)"
        if let tls {
            header += " (version=\(sanitize(tls.version)) cipher=\(sanitize(tls.cipher)))"
        }
        header += "\r\n\tid \(queueID)"
        if let recipient {
            header += " for <\(recipient.address)>"
        }
        header += "; \(RFC5322Date.string(from: date))\r\n"
        return header
    }

    /// Whether the header section of `message` (up to the first empty line) has a field named `name`
    /// (case-insensitive, given in lowercase without the colon).
    public static func headerSection(of message: [UInt8], contains name: String) -> Bool {
        let wanted = Array(name.utf8)
        let count = message.count
        var lineStart = 0
        while lineStart < count {
            let first = message[lineStart]
            if first == Byte.cr || first == Byte.lf { return false }
            if first != Byte.space && first != Byte.tab, lineStart + wanted.count < count {
                var matched = true
                for offset in 0..<wanted.count {
                    let byte = message[lineStart + offset]
                    if (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) != wanted[offset] {
                        matched = false
                        break
                    }
                }
                if matched {
                    var index = lineStart + wanted.count
                    while index < count, message[index] == Byte.space || message[index] == Byte.tab { index += 1 }
                    if index < count, message[index] == Byte.colon { return true }
                }
            }
            guard let newline = message[lineStart...].firstIndex(of: Byte.lf) else { return false }
            lineStart = newline + 1
        }
        return false
    }

    /// The full stored message: trace header, any added fields, then `body` unchanged.
    public static func assemble(body: [UInt8], envelope: SMTPSession.Envelope, hostname: String,
                                protocolName: String, addSubmissionFields: Bool) -> [UInt8] {
        var head = receivedHeader(
            helo: envelope.heloName, clientAddress: envelope.clientAddress, hostname: hostname,
            protocolName: protocolName, tls: envelope.tlsInfo, queueID: envelope.queueID,
            recipient: envelope.recipients.count == 1 ? envelope.recipients[0].address : nil,
            date: envelope.receivedAt)
        if addSubmissionFields {
            if !headerSection(of: body, contains: "message-id") {
                head += "Message-ID: <\(envelope.queueID)@\(hostname)>\r\n"
            }
            if !headerSection(of: body, contains: "date") {
                head += "Date: \(RFC5322Date.string(from: envelope.receivedAt))\r\n"
            }
        }
        var message: [UInt8] = []
        message.reserveCapacity(head.utf8.count + body.count)
        message.append(contentsOf: head.utf8)
        message.append(contentsOf: body)
        return message
    }

    /// Keeps client-supplied text printable ASCII without parentheses, so it cannot break the header.
    static func sanitize(_ text: String) -> String {
        let bytes = text.utf8.prefix(255).map { byte -> UInt8 in
            (byte > 0x20 && byte < 0x7F && byte != 0x28 && byte != 0x29 && byte != Byte.backslash) ? byte : 0x3F
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
