/// What an incoming bounce says: per-recipient results read from an RFC 3464 delivery-status
/// part, or, for receivers that still send free text, from the common non-standard layouts
/// (Exchange/Outlook NDR bodies, qmail's "I'm afraid I wasn't able to deliver", Sendmail's "The
/// following addresses had permanent fatal errors", and a generic "address then SMTP reply"
/// scan); plus the returned message's Message-ID when the bounce quotes its headers.
///
/// Build one with `BounceReport(parsing:)`. Pure value; any thread.
public struct BounceReport: Sendable, Equatable {
    /// What kind of message it was.
    public enum Kind: String, Sendable, Equatable {
        /// An RFC 3464 `multipart/report; report-type=delivery-status`.
        case dsn
        /// A bounce in one of the free-text layouts.
        case nonStandard = "non-standard"
        /// An RFC 3834 automatic reply (out of office, vacation): not a failure.
        case autoReply = "auto-reply"
        /// Nothing recognised as a bounce.
        case unknown
    }

    /// The RFC 3464 action of one recipient.
    public enum Action: String, Sendable, Equatable {
        case failed, delayed, delivered, relayed, expanded
    }

    /// One recipient's result.
    public struct Recipient: Sendable, Equatable {
        /// Final-Recipient address (or the address the free text names), lower case; "" when unknown.
        public var address: String
        /// Original-Recipient address when given, else "".
        public var originalRecipient: String
        public var action: Action
        /// RFC 3463 status (e.g. `5.1.1`), or nil when none could be read.
        public var status: EnhancedStatusCode?
        /// The SMTP reply code from the diagnostic, or nil.
        public var smtpCode: Int?
        /// Diagnostic text (without its `smtp;` type), or the free-text reason.
        public var diagnostic: String
        /// Remote-MTA (without type), or the reporting MTA when no remote one is named.
        public var remoteMTA: String
        /// The SMTP stage the report's human-readable part names for this recipient (Postfix writes
        /// `<addr>: host … said: … (in reply to MAIL FROM command)` there, not in the Diagnostic-Code).
        public var textStage: SMTPClientSession.Stage? = nil

        /// Creates a recipient result. Pure.
        public init(address: String, originalRecipient: String = "", action: Action, status: EnhancedStatusCode?,
                    smtpCode: Int?, diagnostic: String, remoteMTA: String = "") {
            self.address = address
            self.originalRecipient = originalRecipient
            self.action = action
            self.status = status
            self.smtpCode = smtpCode
            self.diagnostic = diagnostic
            self.remoteMTA = remoteMTA
        }

        /// The SMTP reply code to classify with: the diagnostic's, else one derived from the status
        /// class (550 / 450), else 550 for a failure and 450 for a delay. Microsoft reports soft
        /// failures as a `250` diagnostic with a 4.x.x status: the status wins over a 2xx code.
        public var effectiveCode: Int {
            if let c = smtpCode, c >= 400 { return c }
            if let s = status, s.statusClass == 4 || s.statusClass == 5 { return s.statusClass == 4 ? 451 : 550 }
            return action == .delayed ? 451 : 550
        }

        /// Classifies this result with `classifier` (the same rules delivery uses), at the SMTP stage
        /// the diagnostic names (`stage`): a DSN for a refusal at MAIL FROM gets no address class and
        /// suppresses nobody, as the same reply would in delivery. Pure.
        public func classify(_ classifier: BounceClassifier = BounceClassifier()) -> BounceClassification {
            BounceClassifier.atStage(classifier.classify(code: effectiveCode, enhancedCode: status, text: diagnostic),
                                     code: effectiveCode, stage: stage)
        }

        /// The SMTP stage the remote reply came at: the one the diagnostic names, else the one the
        /// report's human-readable text names for this recipient (`textStage`); nil when neither does.
        /// Pure.
        public var stage: SMTPClientSession.Stage? {
            BounceReport.stage(named: diagnostic) ?? textStage
        }

        /// True when the result is a failure of some kind (failed or delayed, or a 2xx diagnostic
        /// hiding a 4xx/5xx status).
        public var isFailure: Bool {
            action == .failed || action == .delayed || (status.map { $0.statusClass != 2 } ?? false)
        }

        /// True when the failure is transient: delayed, or a 4.x.x status.
        public var isTransient: Bool {
            action == .delayed || status?.statusClass == 4 || (status == nil && smtpCode.map { $0 < 500 } ?? false)
        }
    }

    public var kind: Kind
    public var recipients: [Recipient]
    /// Reporting-MTA (without type), "" when absent.
    public var reportingMTA: String
    /// The returned message's Message-ID (without angle brackets), "" when not quoted.
    public var originalMessageID: String
    /// The returned message's `To` address, "" when not quoted.
    public var originalTo: String

    /// Creates a report. Pure.
    public init(kind: Kind, recipients: [Recipient], reportingMTA: String = "", originalMessageID: String = "",
                originalTo: String = "") {
        self.kind = kind
        self.recipients = recipients
        self.reportingMTA = reportingMTA
        self.originalMessageID = originalMessageID
        self.originalTo = originalTo
    }

    /// Reads `message` (the whole bounce, headers and body). Pure.
    public init(parsing message: [UInt8]) {
        self.init(entity: MailEntity(parsing: message))
    }

    /// Reads an already split message. Pure.
    public init(entity: MailEntity) {
        let all = entity.allEntities
        var report = BounceReport(kind: .unknown, recipients: [])
        if let status = all.first(where: { ["message/delivery-status", "message/global-delivery-status"].contains($0.contentType.type) }) {
            report = BounceReport.deliveryStatus(status.body)
            report.kind = .dsn
            if report.recipients.contains(where: { BounceReport.stage(named: $0.diagnostic) == nil }) {
                let text = BounceReport.bounceTexts(entity).joined(separator: "\n")
                for i in report.recipients.indices {
                    let r = report.recipients[i]
                    report.recipients[i].textStage = BounceReport.stage(in: text, for: r.address)
                        ?? BounceReport.stage(in: text, for: r.originalRecipient)
                        // One recipient: the notice's one paragraph is about it, whatever address it shows.
                        ?? (report.recipients.count == 1 ? BounceReport.stage(named: text) : nil)
                }
            }
        }
        // The returned message (or its headers).
        if let returned = all.dropFirst().first(where: { BounceReport.looksLikeReturnedHeaders($0) }) {
            report.originalMessageID = BounceReport.angleless(returned.header("message-id") ?? "")
            report.originalTo = BounceReport.firstAddress(in: returned.header("to") ?? "") ?? ""
        }
        if report.kind == .unknown {
            let text = BounceReport.bounceTexts(entity).joined(separator: "\n")
            let found = BounceReport.nonStandard(text)
            if !found.recipients.isEmpty {
                report.kind = .nonStandard
                report.recipients = found.recipients
                report.reportingMTA = found.reportingMTA
            } else if BounceReport.isAutoReply(entity) {
                report.kind = .autoReply
            }
            if report.originalMessageID.isEmpty, let id = found.quotedMessageID { report.originalMessageID = id }
        }
        self = report
    }

    // MARK: SMTP stage

    /// The SMTP stage `text` names in the words Postfix (`(in reply to RCPT TO command)`) or Exim
    /// (`SMTP error from remote mail server after RCPT TO:<…>:`) use; nil when it names none. Pure.
    public static func stage(named text: String) -> SMTPClientSession.Stage? {
        let text = text.lowercased()
        let marks: [(String, SMTPClientSession.Stage)] = [
            ("in reply to mail from command", .mail), ("after mail from", .mail),
            ("in reply to rcpt to command", .recipient), ("after rcpt to", .recipient),
            ("in reply to end of data command", .body), ("after end of data", .body),
            ("in reply to data command", .data), ("after data", .data), ("after pipelined data", .data),
            ("in reply to ehlo command", .hello), ("in reply to helo command", .hello),
            ("after ehlo", .hello), ("after helo", .hello),
            ("in reply to starttls command", .startTLS), ("after starttls", .startTLS),
            ("while receiving the initial server greeting", .greeting), ("after initial connection", .greeting),
        ]
        return marks.first { text.contains($0.0) }?.1
    }

    /// The stage named in the paragraph of `text` about `address` (a paragraph that starts with
    /// `<address>:` or `address:`, up to the next empty line), as Postfix's notice writes it. Pure.
    static func stage(in text: String, for address: String) -> SMTPClientSession.Stage? {
        guard !address.isEmpty else { return nil }
        let lines = text.lowercased().replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        let heads = ["<\(address)>:", "\(address):"]
        var i = 0
        while i < lines.count {
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            if heads.contains(where: { line.hasPrefix($0) }) {
                var paragraph = line
                var j = i + 1
                while j < lines.count, !lines[j].trimmingCharacters(in: .whitespaces).isEmpty {
                    paragraph += " " + lines[j].trimmingCharacters(in: .whitespaces)
                    j += 1
                }
                if let stage = stage(named: paragraph) { return stage }
                i = j
            } else {
                i += 1
            }
        }
        return nil
    }

    // MARK: RFC 3464

    /// Parses the body of a `message/delivery-status` part: one per-message group, then one group
    /// per recipient, separated by empty lines.
    static func deliveryStatus(_ body: [UInt8]) -> BounceReport {
        let (groups, _) = fieldGroups(body)
        var report = BounceReport(kind: .dsn, recipients: [])
        for (i, group) in groups.enumerated() {
            func field(_ name: String) -> String? { group.first { $0.name == name }?.value }
            if i == 0, field("final-recipient") == nil {
                report.reportingMTA = typeStripped(field("reporting-mta") ?? "")
                continue
            }
            guard let final = field("final-recipient") ?? field("original-recipient") else { continue }
            let actionText = (field("action") ?? "failed").lowercased().split(separator: " ").first.map(String.init) ?? "failed"
            let diagnostic = typeStripped(field("diagnostic-code") ?? "")
            let (code, enhanced) = leadingCodes(diagnostic)
            let status = field("status").flatMap { EnhancedStatusCode(String($0.split(separator: " ").first ?? "")) } ?? enhanced
            report.recipients.append(Recipient(
                address: typeStripped(final).lowercased().trimming("<>"),
                originalRecipient: typeStripped(field("original-recipient") ?? "").lowercased().trimming("<>"),
                action: Action(rawValue: actionText) ?? .failed, status: status, smtpCode: code,
                diagnostic: diagnostic, remoteMTA: typeStripped(field("remote-mta") ?? report.reportingMTA)))
        }
        return report
    }

    /// Header-like field groups separated by empty lines (continuations unfolded).
    static func fieldGroups(_ body: [UInt8]) -> ([[(name: String, value: String)]], Int) {
        var groups: [[(name: String, value: String)]] = []
        var rest = MailEntity.normalizedLines(body)[...]
        while !rest.isEmpty {
            // Skip blank lines between groups.
            while rest.first == 0x0A { rest = rest.dropFirst() }
            if rest.isEmpty { break }
            let (fields, next) = MailEntity.readHeaders(rest)
            if fields.isEmpty { break }
            groups.append(fields)
            rest = rest[next...]
        }
        return (groups, groups.count)
    }

    // MARK: Helpers

    /// `rfc822; a@b` → `a@b`; `smtp; 550 …` → `550 …`.
    static func typeStripped(_ value: String) -> String {
        guard let semi = value.firstIndex(of: ";") else { return value.trimmingBlanks }
        let type = value[..<semi]
        guard !type.isEmpty, type.count <= 20, !type.containsBytes(" ") else { return value.trimmingBlanks }
        return value[value.index(after: semi)...].trimmingBlanks
    }

    /// The reply code and enhanced code that open `text` (`550 5.1.1 …`, `550-5.1.1 …`, `#550 5.1.1`).
    static func leadingCodes(_ text: String) -> (Int?, EnhancedStatusCode?) {
        let bytes = Array(text.utf8.drop { $0 == 0x23 || $0 == 0x20 || $0 == 0x28 })
        var code: Int? = nil
        var rest = bytes[...]
        if bytes.count >= 3, (0x32...0x35).contains(bytes[0]), bytes[1...2].allSatisfy({ (0x30...0x39).contains($0) }),
           bytes.count == 3 || [0x20, 0x2D].contains(bytes[3]) {
            code = Int(String(decoding: bytes[0..<3], as: UTF8.self))
            rest = bytes.dropFirst(min(4, bytes.count))
        }
        let enhanced = EnhancedStatusCode.parse(rest).map(\.0)
        return (code, enhanced)
    }

    /// The first `local@domain` in `text` (inside angle brackets or bare), lower case.
    static func firstAddress(in text: String) -> String? {
        if let open = text.firstIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            var inner = text[text.index(after: open)..<close].trimmingBlanks
            if inner.lowercased().hasPrefix("mailto:") { inner = String(inner.dropFirst(7)) }
            if inner.containsBytes("@") { return inner.lowercased() }
        }
        for token in text.split(whereSeparator: { " \t,;:()[]\"'".contains($0) }) where token.containsBytes("@") {
            let t = token.trimming("<>.")
            let pieces = t.split(separator: "@")
            if pieces.count == 2, !pieces[0].isEmpty, pieces[1].containsBytes(".") { return t.lowercased() }
        }
        return nil
    }

    static func angleless(_ id: String) -> String {
        id.trimmingBlanks.trimming("<>")
    }

    /// The plain-text leaves of `e`, not descending into enclosed messages (the returned original).
    static func bounceTexts(_ e: MailEntity) -> [String] {
        let type = e.contentType.type
        if type == "message/rfc822" || type == "message/global" || type == "text/rfc822-headers" || type == "text/html" { return [] }
        if !e.parts.isEmpty { return e.parts.flatMap(bounceTexts) }
        return type.hasPrefix("text/") ? [e.text] : []
    }

    /// A part that is a returned message or its headers.
    static func looksLikeReturnedHeaders(_ e: MailEntity) -> Bool {
        e.header("message-id") != nil && (e.header("from") != nil || e.header("to") != nil || e.header("subject") != nil)
    }

    /// RFC 3834: `Auto-Submitted: auto-replied`, or the usual vacation markers.
    static func isAutoReply(_ e: MailEntity) -> Bool {
        if let a = e.header("auto-submitted")?.lowercased(), a.hasPrefix("auto-replied") { return true }
        if e.header("x-autoreply") != nil || e.header("x-autorespond") != nil { return true }
        let subject = (e.header("subject") ?? "").lowercased()
        return ["out of office", "automatic reply", "auto-reply", "autoreply", "vacation"].contains { subject.containsBytes($0) }
    }
}

extension StringProtocol {
    /// Without any of `characters` at either end.
    func trimming(_ characters: String) -> String {
        let set = Set(characters)
        let scalars = Array(self)
        var start = 0, end = scalars.count
        while start < end && set.contains(scalars[start]) { start += 1 }
        while end > start && set.contains(scalars[end - 1]) { end -= 1 }
        return String(scalars[start..<end])
    }
}
