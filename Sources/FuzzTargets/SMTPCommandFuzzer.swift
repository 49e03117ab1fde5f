import SMTPCore

/// Fuzz target for the SMTP command line parsers: every LF-separated line of the input goes through
/// `SMTPCommand.parse`, MAIL/RCPT arguments through `PathArgument.parse` and `SMTPAddress.parsePath`, and
/// ESMTP parameter values through xtext decoding. Round trips (xtext, base64) must be exact. Pure.
public enum SMTPCommandFuzzer {
    /// Runs one input; traps on a broken invariant.
    public static func run(_ data: [UInt8]) {
        for rawLine in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            var line = rawLine
            if line.last == 0x0D { line = line.dropLast() }
            guard let command = try? SMTPCommand.parse(line) else { continue }
            let prefix: String
            switch command.verb {
            case .mail?: prefix = "FROM:"
            case .rcpt?: prefix = "TO:"
            default:
                checkRoundTrips(command.argument)
                continue
            }
            guard let path = try? SMTPCommand.PathArgument.parse(command.argument, prefix: prefix) else { continue }
            for utf8 in [false, true] {
                if let address = try? SMTPAddress.parsePath(path.path, allowUTF8: utf8) {
                    _ = address.requiresSMTPUTF8
                    _ = address.isAddressLiteral
                    // A parsed address printed back as a path must parse to the same address.
                    let again = try? SMTPAddress.parsePath(address.path, allowUTF8: utf8)
                    precondition(again == address, "address does not survive a print/parse round trip")
                }
            }
            for parameter in path.parameters {
                if let value = parameter.value { checkRoundTrips(value) }
            }
        }
    }

    static func checkRoundTrips(_ text: String) {
        if let decoded = SMTPXText.decode(text) {
            _ = SMTPXText.encode(decoded)
        }
        precondition(SMTPXText.decode(SMTPXText.encode(text)) == text, "xtext round trip")
        let bytes = Array(text.utf8)
        if let decoded = SMTPBase64.decode(bytes) {
            _ = SMTPBase64.encode(decoded)
        }
        precondition(SMTPBase64.decode(Array(SMTPBase64.encode(bytes).utf8)) == bytes, "base64 round trip")
    }
}
