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
        var out: [UInt8] = []
        appendReceivedHeader(to: &out, helo: helo, clientAddress: clientAddress, hostname: hostname,
                             protocolName: protocolName, tls: tls, queueID: queueID, recipient: recipient,
                             dateText: RFC5322Date.string(from: date))
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the `Received:` field's bytes to `out` (`dateText`: the RFC 5322 date). Built as
    /// bytes, once per accepted message, rather than through string interpolation.
    static func appendReceivedHeader(to out: inout [UInt8], helo: String, clientAddress: String, hostname: String,
                                     protocolName: String, tls: SMTPSession.TLSInfo?, queueID: String,
                                     recipient: SMTPAddress?, dateText: String) {
        out.append(contentsOf: "Received: from ".utf8)
        appendSanitized(helo, to: &out)
        // An IPv6 address has a colon. The address is ASCII text from the socket, where a byte test
        // gives the answer of Foundation's `contains(":")`; anything else keeps that call (a
        // combining mark after ":" makes it answer no).
        let ascii = clientAddress.utf8.allSatisfy { $0 < 0x80 }
        if ascii ? clientAddress.utf8.contains(Byte.colon) : clientAddress.contains(":") {
            out.append(contentsOf: " ([IPv6:".utf8)
        } else {
            out.append(contentsOf: " ([".utf8)
        }
        out.append(contentsOf: clientAddress.utf8)
        out.append(contentsOf: "])\r\n\tby ".utf8)
        out.append(contentsOf: hostname.utf8)
        out.append(contentsOf: " (Sendarix) with ".utf8)
        out.append(contentsOf: protocolName.utf8)
        if let tls {
            out.append(contentsOf: " (version=".utf8)
            appendSanitized(tls.version, to: &out)
            out.append(contentsOf: " cipher=".utf8)
            appendSanitized(tls.cipher, to: &out)
            out.append(UInt8(ascii: ")"))
        }
        out.append(contentsOf: "\r\n\tid ".utf8)
        out.append(contentsOf: queueID.utf8)
        if let recipient {
            out.append(contentsOf: " for <".utf8)
            // `recipient.address`, without building it.
            out.append(contentsOf: recipient.localPart.utf8)
            out.append(UInt8(ascii: "@"))
            out.append(contentsOf: recipient.domain.utf8)
            out.append(UInt8(ascii: ">"))
        }
        out.append(contentsOf: "; ".utf8)
        out.append(contentsOf: dateText.utf8)
        out.append(contentsOf: "\r\n".utf8)
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
        let dateText = RFC5322Date.string(from: envelope.receivedAt)
        let recipient = envelope.recipients.count == 1 ? envelope.recipients[0].address : nil
        var message: [UInt8] = []
        // Room for the added fields: their fixed text plus every variable part, counted generously.
        let headRoom = 160 + 2 * (hostname.utf8.count + envelope.queueID.utf8.count + dateText.utf8.count)
            + min(envelope.heloName.utf8.count, 255) + envelope.clientAddress.utf8.count + protocolName.utf8.count
            + (envelope.tlsInfo.map { min($0.version.utf8.count, 255) + min($0.cipher.utf8.count, 255) } ?? 0)
            + (recipient.map { $0.localPart.utf8.count + $0.domain.utf8.count } ?? 0)
        message.reserveCapacity(headRoom + body.count)
        appendReceivedHeader(to: &message, helo: envelope.heloName, clientAddress: envelope.clientAddress,
                             hostname: hostname, protocolName: protocolName, tls: envelope.tlsInfo,
                             queueID: envelope.queueID, recipient: recipient, dateText: dateText)
        if addSubmissionFields {
            if !headerSection(of: body, contains: "message-id") {
                message.append(contentsOf: "Message-ID: <".utf8)
                message.append(contentsOf: envelope.queueID.utf8)
                message.append(UInt8(ascii: "@"))
                message.append(contentsOf: hostname.utf8)
                message.append(contentsOf: ">\r\n".utf8)
            }
            if !headerSection(of: body, contains: "date") {
                message.append(contentsOf: "Date: ".utf8)
                message.append(contentsOf: dateText.utf8)
                message.append(contentsOf: "\r\n".utf8)
            }
        }
        message.append(contentsOf: body)
        return message
    }

    /// Keeps client-supplied text printable ASCII without parentheses, so it cannot break the header.
    static func sanitize(_ text: String) -> String {
        var out: [UInt8] = []
        appendSanitized(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `sanitize(text)`'s bytes to `out`.
    static func appendSanitized(_ text: String, to out: inout [UInt8]) {
        for byte in text.utf8.prefix(255) {
            out.append((byte > 0x20 && byte < 0x7F && byte != 0x28 && byte != 0x29 && byte != Byte.backslash) ? byte : 0x3F)
        }
    }
}
