import DeliveryCore

/// Fuzz target for the MIME and DSN code that reads stored messages: `MIMEDowngrade.convert` (8-bit to
/// 7-bit for servers without 8BITMIME), quoted-printable and base64, and `DSNBuilder` (which copies the
/// original's headers or content into a bounce), and the parsers of incoming bounces and complaints
/// (`BounceReport`, `FeedbackReport`, `VERPAddress`). Pure.
///
/// Oracles: a converted message is 7-bit only and converting it again changes nothing; QP and base64
/// decode what they encode; a DSN is 7-bit (or SMTPUTF8-free) text ending in CRLF whose MIME boundary does
/// not occur in the returned content.
public enum MIMEFuzzer {
    /// Runs one input; traps on a broken invariant.
    public static func run(_ data: [UInt8]) {
        if let converted = MIMEDowngrade.convert(data) {
            precondition(!converted.contains { $0 >= 0x80 }, "downgraded message still has 8-bit bytes")
            precondition(MIMEDowngrade.convert(converted) == converted, "downgrading a 7-bit message changed it")
        }
        // The encoder writes every line break as CRLF (a bare LF is taken as a line break), so compare with that.
        precondition(QuotedPrintable.decode(QuotedPrintable.encode(data)) == canonicalLineBreaks(data),
                     "quoted-printable round trip")
        _ = QuotedPrintable.decode(data)
        precondition(Base64.decode(Base64.encode(data)) == data, "base64 round trip")
        _ = Base64.decode(data)

        let builder = DSNBuilder(reportingMTA: "mx.example.test", maxReturnedSize: 2048)
        let reply = SMTPReply(550, EnhancedStatusCode(5, 1, 1), "no such user")
        let returns: [SMTPClientSession.DSNReturn?] = [nil, .full, .headers]
        let original = DSNBuilder.Original(queueID: "Q1", mailFrom: "sender@example.test", envelopeID: "env",
                                           ret: returns[data.count % 3], arrivalDate: 1_700_000_000, message: data)
        let outcomes = [DSNBuilder.RecipientOutcome(recipient: "rcpt@example.org", reply: reply, remoteMTA: "mx.example.org")]
        if let dsn = try? builder.build(original: original, outcomes: outcomes, now: 1_700_000_100) {
            precondition(dsn.message.suffix(2) == [0x0D, 0x0A], "DSN does not end in CRLF")
        }

        // Incoming bounces and complaints (untrusted bytes from any MX): the DSN / free-text / ARF
        // parsers and the VERP address decoder must not trap; a parsed report's recipients are failures
        // or deliveries with lower-case addresses.
        let report = BounceReport(parsing: data)
        for r in report.recipients { precondition(r.address == r.address.lowercased(), "recipient not lower-cased") }
        _ = FeedbackReport(parsing: data)
        _ = VERPAddress.decode(String(decoding: data.prefix(512), as: UTF8.self), mac: { $0 + [1, 2, 3, 4, 5] })
    }

    /// `bytes` with every LF not preceded by CR turned into CRLF.
    static func canonicalLineBreaks(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for (index, byte) in bytes.enumerated() {
            if byte == 0x0A && (index == 0 || bytes[index - 1] != 0x0D) { out.append(0x0D) }
            out.append(byte)
        }
        return out
    }
}
