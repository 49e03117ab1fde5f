import SendarixSupport

extension SMTPAddress {
    /// Parses an RFC 5321 `Mailbox` (`local@domain`, no angle brackets). Quoted local parts, IPv4 and IPv6
    /// address literals are accepted; non-ASCII only when `allowUTF8` (SMTPUTF8, RFC 6531).
    /// Pure; does not block; any caller may use it.
    public static func parse(_ text: String, allowUTF8: Bool = false) throws(ParseError) -> SMTPAddress {
        let bytes = Array(text.utf8)
        return try parseMailbox(bytes[...], allowUTF8: allowUTF8, input: text)
    }

    /// Parses an RFC 5321 `Reverse-path` / `Forward-path`: `<>` gives nil (the null path), `<mailbox>` the
    /// mailbox; an obsolete source route (`<@a,@b:user@c>`) is accepted and ignored.
    /// Pure; does not block; any caller may use it.
    public static func parsePath(_ text: String, allowUTF8: Bool = false) throws(ParseError) -> SMTPAddress? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { throw ParseError(.empty, "Empty path", input: text) }
        guard bytes.count <= 256 else { throw ParseError(.pathTooLong, "Path longer than 256 octets", input: text) }
        guard bytes.count >= 2, bytes[0] == Byte.lessThan, bytes[bytes.count - 1] == Byte.greaterThan else {
            throw ParseError(.invalidPath, "Path must be enclosed in <>", input: text)
        }
        var inner = bytes[1..<(bytes.count - 1)]
        if inner.isEmpty { return nil }
        if inner.first == Byte.at {
            guard let colon = inner.firstIndex(of: Byte.colon) else {
                throw ParseError(.invalidPath, "Source route without ':'", input: text)
            }
            inner = inner[(colon + 1)...]
        }
        return try parseMailbox(inner, allowUTF8: allowUTF8, input: text)
    }

    static func parseMailbox(_ bytes: ArraySlice<UInt8>, allowUTF8: Bool, input: String) throws(ParseError) -> SMTPAddress {
        guard !bytes.isEmpty else { throw ParseError(.empty, "Empty address", input: input) }
        if !allowUTF8 && bytes.contains(where: { $0 >= 0x80 }) {
            throw ParseError(.nonASCII, "Non-ASCII address requires SMTPUTF8", input: input)
        }
        let atIndex = try endOfLocalPart(bytes, allowUTF8: allowUTF8, input: input)
        let local = bytes[bytes.startIndex..<atIndex]
        guard local.count <= 64 else {
            throw ParseError(.localPartTooLong, "Local part longer than 64 octets", input: input)
        }
        guard atIndex < bytes.endIndex, bytes[atIndex] == Byte.at else {
            throw ParseError(.missingAt, "Missing @domain", input: input)
        }
        let domain = bytes[(atIndex + 1)...]
        guard domain.count <= 255 else { throw ParseError(.domainTooLong, "Domain longer than 255 octets", input: input) }
        if domain.first == Byte.leftBracket {
            guard isValidAddressLiteral(domain) else {
                throw ParseError(.invalidAddressLiteral, "Invalid address literal", input: input)
            }
        } else if !isValidDomain(domain, allowUTF8: allowUTF8) {
            throw ParseError(.invalidDomain, "Invalid domain", input: input)
        }
        return SMTPAddress(localPart: String(decoding: local, as: UTF8.self), domain: String(decoding: domain, as: UTF8.self))
    }

    /// Returns the index just past the local part (where `@` must be), validating dot-string or quoted-string.
    private static func endOfLocalPart(_ bytes: ArraySlice<UInt8>, allowUTF8: Bool, input: String) throws(ParseError) -> Int {
        var index = bytes.startIndex
        if bytes[index] == Byte.quote {
            index += 1
            while index < bytes.endIndex {
                let byte = bytes[index]
                if byte == Byte.quote { return index + 1 }
                if byte == Byte.backslash {
                    index += 1
                    guard index < bytes.endIndex, bytes[index] >= 0x20, bytes[index] <= 0x7E else { break }
                } else if !(isQText(byte) || (allowUTF8 && byte >= 0x80)) {
                    break
                }
                index += 1
            }
            throw ParseError(.invalidLocalPart, "Invalid quoted local part", input: input)
        }
        var atomLength = 0
        while index < bytes.endIndex, bytes[index] != Byte.at {
            let byte = bytes[index]
            if byte == Byte.dot {
                guard atomLength > 0 else { throw ParseError(.invalidLocalPart, "Invalid dot in local part", input: input) }
                atomLength = 0
            } else if isAText(byte) || (allowUTF8 && byte >= 0x80) {
                atomLength += 1
            } else {
                throw ParseError(.invalidLocalPart, "Invalid character in local part", input: input)
            }
            index += 1
        }
        guard atomLength > 0 else { throw ParseError(.invalidLocalPart, "Empty or dot-terminated local part", input: input) }
        return index
    }

    /// RFC 5321 `Domain`: dot-separated labels of letters, digits and inner hyphens (U-labels with SMTPUTF8).
    static func isValidDomain(_ bytes: ArraySlice<UInt8>, allowUTF8: Bool) -> Bool {
        guard !bytes.isEmpty else { return false }
        var labelLength = 0
        var previous: UInt8 = Byte.dot
        for byte in bytes {
            if byte == Byte.dot {
                if labelLength == 0 || previous == Byte.hyphen { return false }
                labelLength = 0
            } else {
                let ok = isLetterOrDigit(byte) || (allowUTF8 && byte >= 0x80) || (byte == Byte.hyphen && labelLength > 0)
                if !ok { return false }
                labelLength += 1
                if labelLength > 63 { return false }
            }
            previous = byte
        }
        return labelLength > 0 && previous != Byte.hyphen
    }

    /// `[IPv4]` or `[IPv6:...]` (RFC 5321 4.1.3). General address literals are not accepted.
    static func isValidAddressLiteral(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count >= 3, bytes.first == Byte.leftBracket, bytes.last == Byte.rightBracket else { return false }
        let inner = bytes[(bytes.startIndex + 1)..<(bytes.endIndex - 1)]
        let tag = Array("ipv6:".utf8)
        if inner.count > tag.count, zip(inner.prefix(tag.count), tag).allSatisfy({ ($0 | 0x20) == $1 }) {
            return isValidIPv6(inner.dropFirst(tag.count))
        }
        return isValidIPv4(inner)
    }

    /// Dotted-quad IPv4 with each part 0...255 (at most three digits, leading zeros allowed as in
    /// RFC 5321 `Snum`).
    static func isValidIPv4(_ bytes: ArraySlice<UInt8>) -> Bool {
        IPText.parseIPv4(bytes, allowLeadingZeros: true) != nil
    }

    /// RFC 4291 textual IPv6, with at most one `::` and an optional trailing IPv4 part.
    static func isValidIPv6(_ bytes: ArraySlice<UInt8>) -> Bool {
        IPText.parseIPv6(bytes, allowLeadingZeros: true) != nil
    }

    static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// RFC 5322 atext.
    static func isAText(_ byte: UInt8) -> Bool {
        if isLetterOrDigit(byte) { return true }
        switch byte {
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E:
            return true
        default:
            return false
        }
    }

    /// RFC 5321 qtextSMTP: printable ASCII except `"` and `\`, plus space.
    static func isQText(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x21 || (byte >= 0x23 && byte <= 0x5B) || (byte >= 0x5D && byte <= 0x7E)
    }
}
