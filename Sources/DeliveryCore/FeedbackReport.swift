/// A spam complaint from a feedback loop: an RFC 5965 ARF report (`multipart/report;
/// report-type=feedback-report`, as Yahoo CFL, AOL, Comcast and most others send), or Microsoft's
/// JMRP/SNDS layout (a `multipart/mixed` wrapping the complained-about message, whose recipient is
/// often only in `X-HmXmrOriginalRecipient`). Read with `FeedbackReport(parsing:)`; nil when the
/// message is neither. Pure value; any thread.
public struct FeedbackReport: Sendable, Equatable {
    /// `Feedback-Type` (abuse, fraud, virus, other, not-spam …), lower case; `abuse` for JMRP.
    public var feedbackType: String
    /// Who complained: `Original-Rcpt-To`, else `X-HmXmrOriginalRecipient`, else the enclosed `To`
    /// (lower case; "" when redacted or absent).
    public var recipient: String
    /// `Original-Mail-From`, else the enclosed `Return-Path` (the VERP address when we sent it).
    public var originalMailFrom: String
    /// The enclosed message's Message-ID (without angle brackets), "".
    public var originalMessageID: String
    /// `d=` of the enclosed message's DKIM-Signature (Yahoo CFL reports by DKIM domain), "".
    public var dkimDomain: String
    /// The reporting provider: `User-Agent` of the report, else the report's From domain.
    public var reporter: String
    /// Source-IP when given, "".
    public var sourceIP: String

    /// Creates a report. Pure.
    public init(feedbackType: String, recipient: String, originalMailFrom: String = "", originalMessageID: String = "",
                dkimDomain: String = "", reporter: String = "", sourceIP: String = "") {
        self.feedbackType = feedbackType
        self.recipient = recipient
        self.originalMailFrom = originalMailFrom
        self.originalMessageID = originalMessageID
        self.dkimDomain = dkimDomain
        self.reporter = reporter
        self.sourceIP = sourceIP
    }

    /// Reads `message`; nil when it is not a feedback report. Pure.
    public init?(parsing message: [UInt8]) {
        self.init(entity: MailEntity(parsing: message))
    }

    /// Reads an already split message; nil when it is not a feedback report. Pure.
    public init?(entity: MailEntity) {
        let all = entity.allEntities
        let arf = all.first { $0.contentType.type == "message/feedback-report" }
        // The complained-about message: an enclosed message (its parsed part), or bare headers.
        let enclosed = all.first { $0.contentType.type == "message/rfc822" }?.parts.first
            ?? all.first { $0.contentType.type == "text/rfc822-headers" }.map { MailEntity(parsing: $0.body) }
            ?? all.dropFirst().first { e in e.header("message-id") != nil && (e.header("from") != nil || e.header("to") != nil) }
        let jmrpRecipient = enclosed?.header("x-hmxmroriginalrecipient") ?? entity.header("x-hmxmroriginalrecipient")
        guard arf != nil || jmrpRecipient != nil else { return nil }
        var fields: [(name: String, value: String)] = []
        if let arf { fields = BounceReport.fieldGroups(arf.body).0.first ?? [] }
        func field(_ name: String) -> String? { fields.first { $0.name == name }?.value }
        feedbackType = (field("feedback-type") ?? "abuse").lowercased()
        let rcpt = field("original-rcpt-to") ?? jmrpRecipient ?? enclosed?.header("to") ?? ""
        recipient = BounceReport.firstAddress(in: rcpt) ?? ""
        let from = field("original-mail-from") ?? enclosed?.header("return-path") ?? ""
        originalMailFrom = BounceReport.firstAddress(in: from) ?? ""
        originalMessageID = BounceReport.angleless(enclosed?.header("message-id") ?? "")
        dkimDomain = Self.dkimDomain(enclosed?.header("dkim-signature") ?? "")
        let fromDomain = (BounceReport.firstAddress(in: entity.header("from") ?? "") ?? "").split(separator: "@").last.map(String.init) ?? ""
        reporter = field("user-agent") ?? fromDomain
        sourceIP = field("source-ip") ?? enclosed?.header("x-reporter-ip") ?? ""
    }

    /// The `d=` tag of a DKIM-Signature value, lower case.
    static func dkimDomain(_ signature: String) -> String {
        for tag in signature.split(separator: ";") {
            let t = tag.trimmingBlanks
            if t.hasPrefix("d=") { return String(t.dropFirst(2)).trimmingBlanks.lowercased() }
        }
        return ""
    }
}
