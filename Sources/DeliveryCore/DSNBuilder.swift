/// Builds RFC 3464 delivery status notifications: a `multipart/report; report-type=delivery-status`
/// message with a human-readable part, a `message/delivery-status` part (per-message fields plus
/// per-recipient Action, Status, Remote-MTA, Diagnostic-Code, dates) and the original message or
/// its headers according to RET (RFC 3461; without RET: full message for failures, headers
/// otherwise; headers only when the original exceeds `maxReturnedSize`). The SMTP server sets RET=HDRS
/// for all mail from unauthenticated clients outside the trusted networks, so a bounce to a forged
/// sender carries no body (backscatter). Returned headers are the header fields up to the first line
/// that is not one (a message without a header/body separator returns no body either), at most
/// `maxReturnedHeaderSize` bytes cut at a line end.
///
/// Never builds a notification for a null reverse-path (no bounces of bounces). Time is passed in.
/// Pure value; any thread may use it.
public struct DSNBuilder: Sendable {
    /// The Action field of a recipient (RFC 3464 2.3.3).
    public enum Action: String, Sendable, Equatable {
        /// Delivery failed permanently.
        case failed
        /// Delivery is delayed and will be retried.
        case delayed
        /// Delivered to the recipient's mailbox.
        case delivered
        /// Relayed to a system that does not issue DSNs.
        case relayed
        /// Delivered and forwarded to several recipients.
        case expanded
    }

    /// One recipient's outcome to report.
    public struct RecipientOutcome: Sendable, Equatable {
        /// The recipient address (Final-Recipient).
        public var recipient: String
        /// ORCPT from the submission, if any (Original-Recipient).
        public var originalRecipient: String?
        /// What happened.
        public var action: Action
        /// The RFC 3463 status.
        public var status: EnhancedStatusCode
        /// The remote server's name (Remote-MTA), if one was contacted.
        public var remoteMTA: String?
        /// The remote reply (Diagnostic-Code), if any.
        public var diagnostic: SMTPReply?
        /// When delivery was last attempted (seconds since the epoch).
        public var lastAttempt: Double?
        /// For delayed recipients: when retries stop (seconds since the epoch).
        public var willRetryUntil: Double?

        /// Creates an outcome. Pure; any caller.
        public init(recipient: String, originalRecipient: String? = nil, action: Action, status: EnhancedStatusCode,
                    remoteMTA: String? = nil, diagnostic: SMTPReply? = nil, lastAttempt: Double? = nil,
                    willRetryUntil: Double? = nil) {
            self.recipient = recipient
            self.originalRecipient = originalRecipient
            self.action = action
            self.status = status
            self.remoteMTA = remoteMTA
            self.diagnostic = diagnostic
            self.lastAttempt = lastAttempt
            self.willRetryUntil = willRetryUntil
        }

        /// An outcome from a reply: Action from the reply class (2xx delivered, 4xx delayed,
        /// 5xx failed), Status from its enhanced code or else `class.0.0`. Pure; any caller.
        public init(recipient: String, originalRecipient: String? = nil, reply: SMTPReply, remoteMTA: String? = nil,
                    lastAttempt: Double? = nil, willRetryUntil: Double? = nil) {
            let statusClass = reply.isPositive ? 2 : (reply.isPermanent ? 5 : 4)
            self.init(recipient: recipient, originalRecipient: originalRecipient,
                      action: statusClass == 2 ? .delivered : (statusClass == 5 ? .failed : .delayed),
                      status: reply.enhancedCode ?? EnhancedStatusCode(statusClass, 0, 0),
                      remoteMTA: remoteMTA, diagnostic: reply, lastAttempt: lastAttempt, willRetryUntil: willRetryUntil)
        }
    }

    /// The message the notification is about.
    public struct Original: Sendable, Equatable {
        /// The local queue ID.
        public var queueID: String
        /// The original reverse-path (the notification goes there).
        public var mailFrom: String
        /// ENVID from the submission.
        public var envelopeID: String?
        /// RET from the submission.
        public var ret: SMTPClientSession.DSNReturn?
        /// When the message arrived (seconds since the epoch).
        public var arrivalDate: Double
        /// The original message bytes (CRLF).
        public var message: [UInt8]

        /// Creates a description of the original. Pure; any caller.
        public init(queueID: String, mailFrom: String, envelopeID: String? = nil, ret: SMTPClientSession.DSNReturn? = nil,
                    arrivalDate: Double, message: [UInt8]) {
            self.queueID = queueID
            self.mailFrom = mailFrom
            self.envelopeID = envelopeID
            self.ret = ret
            self.arrivalDate = arrivalDate
            self.message = message
        }
    }

    /// A notification ready to enqueue: send `message` from the null sender to `recipient`.
    public struct Notification: Sendable, Equatable {
        /// Envelope sender: always empty (null reverse-path).
        public var mailFrom: String
        /// Envelope recipient: the original sender.
        public var recipient: String
        /// The Message-ID (with angle brackets).
        public var messageID: String
        /// The complete RFC 5322 message, CRLF line endings.
        public var message: [UInt8]
    }

    /// Our host name (Reporting-MTA, From domain).
    public var reportingMTA: String
    /// Largest original returned in full; larger ones are returned as headers only.
    public var maxReturnedSize: Int
    /// Most header bytes returned when headers only are returned.
    public var maxReturnedHeaderSize: Int

    /// Creates a builder. Pure; any caller.
    public init(reportingMTA: String, maxReturnedSize: Int = 10 << 20, maxReturnedHeaderSize: Int = 64 << 10) {
        self.reportingMTA = reportingMTA
        self.maxReturnedSize = maxReturnedSize
        self.maxReturnedHeaderSize = maxReturnedHeaderSize
    }

    /// Builds the notification for `original` reporting `outcomes` at `now`. Throws `nullSender`
    /// for a null reverse-path and `noRecipients` for an empty outcome list. Pure; any caller.
    public func build(original: Original, outcomes: [RecipientOutcome], now: Double) throws(DeliveryError) -> Notification {
        guard !original.mailFrom.isEmpty else {
            throw DeliveryError(.nullSender, "no DSN for a message with a null reverse-path", context: original.queueID)
        }
        guard !outcomes.isEmpty else {
            throw DeliveryError(.noRecipients, "a DSN needs at least one recipient outcome", context: original.queueID)
        }
        let anyFailed = outcomes.contains { $0.action == .failed }
        let anyDelayed = outcomes.contains { $0.action == .delayed }
        let subject = anyFailed ? "Undelivered Mail Returned to Sender"
            : (anyDelayed ? "Delayed Mail (still being retried)" : "Successful Mail Delivery Report")
        let headerBlock = headers(of: original.message)
        let returnFull = original.message.count <= maxReturnedSize
            && (original.ret == .full || (original.ret == nil && anyFailed))
        let returned = returnFull ? original.message : headerBlock
        let boundary = makeBoundary(original: original, now: now, avoiding: returned)
        let messageID = "<\(sanitize(original.queueID)).\(now.floorInt64).dsn@\(reportingMTA)>"

        var out = ""
        out.reserveCapacity(2048)
        func line(_ text: String) { out += text + "\r\n" }
        line("From: Mail Delivery System <MAILER-DAEMON@\(reportingMTA)>")
        line("To: <\(sanitize(original.mailFrom))>")
        line("Subject: \(subject)")
        line("Date: \(MailDate.format(now))")
        line("Message-ID: \(messageID)")
        line("Auto-Submitted: auto-replied")
        line("MIME-Version: 1.0")
        line("Content-Type: multipart/report; report-type=delivery-status;")
        line("\tboundary=\"\(boundary)\"")
        let text = humanReadable(original: original, outcomes: outcomes, anyFailed: anyFailed, anyDelayed: anyDelayed)
        let textIsASCII = !text.utf8.contains { $0 >= 0x80 }
        let outcomesASCII = !outcomes.contains { ($0.recipient + ($0.originalRecipient ?? "")).utf8.contains { $0 >= 0x80 } }
        if !textIsASCII || !outcomesASCII || SMTPBody.containsEightBit(returned) { line("Content-Transfer-Encoding: 8bit") }
        line("")
        line("This is a MIME-encapsulated message.")
        line("")
        // Part 1: human readable.
        line("--\(boundary)")
        line("Content-Description: Notification")
        line("Content-Type: text/plain; charset=\(textIsASCII ? "us-ascii" : "utf-8")")
        if !textIsASCII { line("Content-Transfer-Encoding: 8bit") }
        line("")
        out += text
        line("")
        // Part 2: machine readable.
        line("--\(boundary)")
        line("Content-Description: Delivery report")
        line("Content-Type: message/delivery-status")
        line("")
        line("Reporting-MTA: dns; \(reportingMTA)")
        line("X-Sendarix-Queue-ID: \(sanitize(original.queueID))")
        if let envelopeID = original.envelopeID { line(fold("Original-Envelope-Id: \(sanitize(envelopeID))")) }
        line("Arrival-Date: \(MailDate.format(original.arrivalDate))")
        for outcome in outcomes {
            line("")
            line(fold("Final-Recipient: \(addressType(outcome.recipient)); \(sanitize(outcome.recipient))"))
            if let originalRecipient = outcome.originalRecipient {
                line(fold("Original-Recipient: \(addressType(originalRecipient)); \(sanitize(originalRecipient))"))
            }
            line("Action: \(outcome.action.rawValue)")
            line("Status: \(outcome.status)")
            if let remote = outcome.remoteMTA { line("Remote-MTA: dns; \(sanitize(remote))") }
            if let diagnostic = outcome.diagnostic { line(fold("Diagnostic-Code: smtp; \(sanitize(diagnostic.description))")) }
            if let last = outcome.lastAttempt { line("Last-Attempt-Date: \(MailDate.format(last))") }
            if outcome.action == .delayed, let until = outcome.willRetryUntil { line("Will-Retry-Until: \(MailDate.format(until))") }
        }
        line("")
        // Part 3: the original.
        line("--\(boundary)")
        line("Content-Description: \(returnFull ? "Undelivered Message" : "Message Headers")")
        line("Content-Type: \(returnFull ? "message/rfc822" : "text/rfc822-headers")")
        if SMTPBody.containsEightBit(returned) { line("Content-Transfer-Encoding: 8bit") }
        line("")
        var bytes = Array(out.utf8)
        bytes.reserveCapacity(bytes.count + returned.count + boundary.count + 16)
        bytes.append(contentsOf: SMTPBody.canonical(returned))
        bytes.append(contentsOf: "\r\n--\(boundary)--\r\n".utf8)
        return Notification(mailFrom: "", recipient: original.mailFrom, messageID: messageID, message: bytes)
    }

    private func humanReadable(original: Original, outcomes: [RecipientOutcome], anyFailed: Bool, anyDelayed: Bool) -> String {
        var text = "This is the mail system at host \(reportingMTA).\r\n\r\n"
        if anyFailed {
            text += "I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients. It's attached below.\r\n"
        } else if anyDelayed {
            text += "Your message could not be delivered yet to one or more recipients.\r\nDelivery will be retried; no action is required on your part.\r\n"
        } else {
            text += "Your message was successfully delivered to the destination(s)\r\nlisted below.\r\n"
        }
        text += "\r\n"
        for outcome in outcomes {
            var entry = "<\(sanitize(outcome.recipient))>: \(outcome.action.rawValue)"
            if let remote = outcome.remoteMTA { entry += ", host \(sanitize(remote))" }
            if let diagnostic = outcome.diagnostic { entry += " said: \(sanitize(diagnostic.description))" }
            text += fold(entry) + "\r\n"
        }
        return text
    }

    /// The header fields at the start of `message` (each line a `name:` field or a folded
    /// continuation), up to the empty line or the first line that is neither, at most
    /// `maxReturnedHeaderSize` bytes ending at a line end.
    func headers(of message: [UInt8]) -> [UInt8] {
        var index = 0
        var end = 0
        while index < message.count {
            let lineEnd = message[index...].firstIndex(of: 10).map { $0 + 1 } ?? message.count
            guard isHeaderLine(message[index..<lineEnd], first: index == 0) else { break }
            if lineEnd > maxReturnedHeaderSize { break }
            end = lineEnd
            index = lineEnd
        }
        return Array(message[..<end])
    }

    /// A field (`name:` with printable name characters) or, after the first line, a continuation.
    private func isHeaderLine(_ line: ArraySlice<UInt8>, first: Bool) -> Bool {
        guard let lead = line.first else { return false }
        if lead == 32 || lead == 9 { return !first && line.contains { $0 != 32 && $0 != 9 && $0 != 13 && $0 != 10 } }
        for byte in line {
            if byte == 58 { return true }
            // RFC 5322 ftext is 33-126 except the colon; obsolete syntax allows white space before it.
            if byte == 32 || byte == 9 { continue }
            if byte < 33 || byte > 126 { return false }
        }
        return false
    }

    private func makeBoundary(original: Original, now: Double, avoiding content: [UInt8]) -> String {
        var boundary = "=_dsn_\(sanitize(original.queueID).filter { $0.isLetter || $0.isNumber })_\(now.floorInt64)"
        while contains(content, Array(boundary.utf8)) { boundary += "_x" }
        return boundary
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    private func addressType(_ address: String) -> String {
        address.utf8.contains { $0 >= 0x80 } ? "utf-8" : "rfc822"
    }

    /// Replaces control characters (CR, LF, ...) by spaces so values cannot break the structure.
    private func sanitize(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 32 || $0.value == 127 ? " " : $0 }))
    }

    /// Folds a header-style line at spaces so lines stay near 78 characters (never above 998).
    private func fold(_ text: String) -> String {
        guard text.utf8.count > 78 else { return text }
        var result = ""
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty, current.utf8.count + 1 + word.utf8.count > 78 {
                result += current + "\r\n"
                current = " " + word
            } else {
                current += current.isEmpty ? String(word) : " " + word
            }
            while current.utf8.count > 998 {
                let bytes = Array(current.utf8)
                result += String(decoding: bytes[..<990], as: UTF8.self) + "\r\n"
                current = " " + String(decoding: bytes[990...], as: UTF8.self)
            }
        }
        return result + current
    }
}
