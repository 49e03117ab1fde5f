import Foundation
import Testing
import DeliveryCore

@Suite("Delivery status notifications")
struct DSNBuilderTests {
    let now = 1_795_945_639.0
    let originalMessage = Array("From: app@acme.test\r\nTo: a@example.com\r\nSubject: Invoice\r\nMessage-ID: <m1@acme.test>\r\n\r\nHello there.\r\n".utf8)

    func original(ret: SMTPClientSession.DSNReturn? = nil, message: [UInt8]? = nil) -> DSNBuilder.Original {
        DSNBuilder.Original(queueID: "Q123", mailFrom: "app@acme.test", envelopeID: "env-1", ret: ret,
                            arrivalDate: now - 3600, message: message ?? originalMessage)
    }

    func text(_ notification: DSNBuilder.Notification) -> String {
        String(decoding: notification.message, as: UTF8.self)
    }

    func boundary(_ text: String) throws -> String {
        let start = try #require(text.range(of: "boundary=\""))
        let rest = text[start.upperBound...]
        return String(rest[..<(try #require(rest.firstIndex(of: "\"")))])
    }

    @Test("RFC 5322 dates are formatted in UTC, including leap days and the epoch")
    func dates() {
        #expect(MailDate.format(0) == "Thu, 1 Jan 1970 00:00:00 +0000")
        #expect(MailDate.format(1_795_945_639) == "Sun, 29 Nov 2026 09:47:19 +0000")
        #expect(MailDate.format(951_868_799.9) == "Tue, 29 Feb 2000 23:59:59 +0000")
        #expect(MailDate.format(946_598_400) == "Fri, 31 Dec 1999 00:00:00 +0000")
    }

    @Test("a failure DSN is a three-part multipart/report with per-recipient status and the full original by default")
    func failureReport() throws {
        let failed = DSNBuilder.RecipientOutcome(recipient: "a@example.com", originalRecipient: "rfc-a@example.com",
                                                 reply: SMTPReply(550, EnhancedStatusCode(5, 1, 1), "The email account that you tried to reach does not exist."),
                                                 remoteMTA: "aspmx.l.google.com", lastAttempt: now)
        let delayed = DSNBuilder.RecipientOutcome(recipient: "b@example.org", reply: SMTPReply(451, EnhancedStatusCode(4, 7, 1), "Please try again later"),
                                                  remoteMTA: "mx.example.org", lastAttempt: now, willRetryUntil: now + 86_400)
        let notification = try DSNBuilder(reportingMTA: "relay.acme.test").build(original: original(), outcomes: [failed, delayed], now: now)
        #expect(notification.mailFrom == "")
        #expect(notification.recipient == "app@acme.test")
        let message = text(notification)
        let marker = try boundary(message)
        #expect(message.hasPrefix("From: Mail Delivery System <MAILER-DAEMON@relay.acme.test>\r\nTo: <app@acme.test>\r\nSubject: Undelivered Mail Returned to Sender\r\n"))
        #expect(message.contains("Date: Sun, 29 Nov 2026 09:47:19 +0000\r\n"))
        #expect(message.contains("Auto-Submitted: auto-replied\r\n"))
        #expect(message.contains("Content-Type: multipart/report; report-type=delivery-status;\r\n"))
        let parts = message.components(separatedBy: "--" + marker)
        #expect(parts.count == 5, "preamble, three parts, closing")
        #expect(parts[4] == "--\r\n")
        #expect(parts[1].contains("Content-Type: text/plain; charset=us-ascii"))
        #expect(parts[1].contains("<a@example.com>: failed, host aspmx.l.google.com said: 550 5.1.1"))
        let status = parts[2]
        #expect(status.contains("Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.acme.test\r\n"))
        #expect(status.contains("Original-Envelope-Id: env-1\r\n"))
        #expect(status.contains("Arrival-Date: Sun, 29 Nov 2026 08:47:19 +0000\r\n"))
        #expect(status.contains("\r\n\r\nFinal-Recipient: rfc822; a@example.com\r\nOriginal-Recipient: rfc822; rfc-a@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; aspmx.l.google.com\r\nDiagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach\r\n does not exist.\r\n"))
        #expect(status.contains("Action: delayed\r\nStatus: 4.7.1\r\n"))
        #expect(status.contains("Will-Retry-Until: Mon, 30 Nov 2026 09:47:19 +0000\r\n"))
        #expect(!status.contains("Will-Retry-Until: Sun"), "only delayed recipients carry Will-Retry-Until")
        #expect(parts[3].contains("Content-Type: message/rfc822\r\n\r\nFrom: app@acme.test\r\n"))
        #expect(parts[3].contains("Hello there."))
    }

    @Test("RET=HDRS returns only the original header block as text/rfc822-headers")
    func headersOnly() throws {
        let outcome = DSNBuilder.RecipientOutcome(recipient: "a@example.com", reply: SMTPReply(554, EnhancedStatusCode(5, 7, 1), "rejected"))
        let message = text(try DSNBuilder(reportingMTA: "relay.acme.test").build(original: original(ret: .headers), outcomes: [outcome], now: now))
        #expect(message.contains("Content-Type: text/rfc822-headers\r\n\r\nFrom: app@acme.test\r\n"))
        #expect(message.contains("Message-ID: <m1@acme.test>\r\n"))
        #expect(!message.contains("Hello there."))
    }

    @Test("headers only means header fields only: a message without a blank line returns no body, a folded field stays whole")
    func headersOnlyWithoutSeparator() throws {
        let outcome = DSNBuilder.RecipientOutcome(recipient: "a@example.com", reply: SMTPReply(550, EnhancedStatusCode(5, 1, 1), "No such user"))
        // A forged message whose "body" follows its fields without an empty line.
        let forged = Array("From: victim@example.net\r\nSubject: a\r\n b\r\nSPAM BODY LINE ONE\r\nBuy: now\r\n".utf8)
        let message = text(try DSNBuilder(reportingMTA: "relay.acme.test").build(original: original(ret: .headers, message: forged),
                                                                                  outcomes: [outcome], now: now))
        let marker = try boundary(message)
        let returned = message.components(separatedBy: "--" + marker)[3]
        #expect(returned.hasSuffix("Content-Type: text/rfc822-headers\r\n\r\nFrom: victim@example.net\r\nSubject: a\r\n b\r\n\r\n"), "\(returned)")
        #expect(!message.contains("SPAM BODY") && !message.contains("Buy: now"))
    }

    @Test("returned headers are capped at maxReturnedHeaderSize, cut at a line end")
    func headerBlockCap() throws {
        let outcome = DSNBuilder.RecipientOutcome(recipient: "a@example.com", reply: SMTPReply(550, EnhancedStatusCode(5, 1, 1), "No such user"))
        var huge = ""
        for i in 0..<5_000 { huge += "X-Filler-\(i): \(String(repeating: "f", count: 60))\r\n" }
        huge += "\r\nbody\r\n"
        let builder = DSNBuilder(reportingMTA: "relay.acme.test", maxReturnedHeaderSize: 4096)
        let message = text(try builder.build(original: original(ret: .headers, message: Array(huge.utf8)), outcomes: [outcome], now: now))
        let marker = try boundary(message)
        let returned = message.components(separatedBy: "--" + marker)[3]
        let fields = try #require(returned.range(of: "text/rfc822-headers\r\n\r\n")).upperBound
        let block = returned[fields...]
        #expect(block.utf8.count <= 4096 + 2)
        #expect(block.utf8.count > 4096 - 100)
        #expect(block.hasPrefix("X-Filler-0: ") && block.hasSuffix("f\r\n\r\n"))
    }

    @Test("a delay-only report returns headers by default, and an oversized original is never returned in full")
    func defaultsAndSizeCap() throws {
        let delayed = DSNBuilder.RecipientOutcome(recipient: "a@example.com", reply: SMTPReply(421, EnhancedStatusCode(4, 7, 0), "[TSS04] deferred"))
        let delayMessage = text(try DSNBuilder(reportingMTA: "r").build(original: original(), outcomes: [delayed], now: now))
        #expect(delayMessage.contains("Subject: Delayed Mail (still being retried)"))
        #expect(delayMessage.contains("text/rfc822-headers"))
        let failed = DSNBuilder.RecipientOutcome(recipient: "a@example.com", reply: SMTPReply(550, nil, "no"))
        let capped = text(try DSNBuilder(reportingMTA: "r", maxReturnedSize: 10).build(original: original(ret: .full), outcomes: [failed], now: now))
        #expect(capped.contains("text/rfc822-headers") && !capped.contains("Hello there."))
        #expect(capped.contains("Status: 5.0.0"), "status derived from the reply class when no enhanced code")
    }

    @Test("the boundary never occurs inside the returned original")
    func boundaryAvoidsContent() throws {
        let hostile = Array("Subject: x\r\n\r\n--=_dsn_Q123_1795945639\r\n".utf8)
        let outcome = DSNBuilder.RecipientOutcome(recipient: "a@example.com", reply: SMTPReply(550, nil, "no"))
        let message = text(try DSNBuilder(reportingMTA: "r").build(original: original(message: hostile), outcomes: [outcome], now: now))
        let marker = try boundary(message)
        #expect(marker != "=_dsn_Q123_1795945639")
        #expect(message.components(separatedBy: "--" + marker).count == 5)
    }

    @Test("no DSN for a null reverse-path or without outcomes; line breaks in values cannot inject fields")
    func refusalsAndSanitising() throws {
        let builder = DSNBuilder(reportingMTA: "r")
        let outcome = DSNBuilder.RecipientOutcome(recipient: "a@example.com", reply: SMTPReply(code: 550, lines: ["bad\r\nAction: delivered"]))
        var nullSender = original()
        nullSender.mailFrom = ""
        #expect(throws: DeliveryError.self) { try builder.build(original: nullSender, outcomes: [outcome], now: now) }
        #expect(throws: DeliveryError.self) { try builder.build(original: original(), outcomes: [], now: now) }
        let message = text(try builder.build(original: original(), outcomes: [outcome], now: now))
        #expect(!message.contains("\r\nAction: delivered"))
        #expect(message.contains("Diagnostic-Code: smtp; 550 bad  Action: delivered\r\n"))
    }

    @Test("internationalised recipients use the utf-8 address type (RFC 6533)")
    func utf8Recipient() throws {
        let outcome = DSNBuilder.RecipientOutcome(recipient: "jöran@example.com", reply: SMTPReply(550, nil, "no"))
        let message = text(try DSNBuilder(reportingMTA: "r").build(original: original(), outcomes: [outcome], now: now))
        #expect(message.contains("Final-Recipient: utf-8; jöran@example.com\r\n"))
        #expect(message.contains("Content-Type: text/plain; charset=utf-8"))
    }
}
