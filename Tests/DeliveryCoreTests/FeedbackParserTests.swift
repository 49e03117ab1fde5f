import DeliveryCore
import Foundation
import Testing

/// Bounce (DSN and free-text) and complaint (ARF, JMRP) parsing on real messages from the outside
/// world: Tests/Fixtures/feedback, each with its public source in SOURCES.md there.
@Suite("Bounce and feedback-loop parsing")
struct FeedbackParserTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/feedback")
        return Array(try Data(contentsOf: dir.appendingPathComponent(name)))
    }

    @Test("A Sendmail RFC 3464 DSN gives the failed recipient, its status, reply code and the bad-mailbox class")
    func sendmailDSN() throws {
        let report = BounceReport(parsing: try Self.fixture("sisimai-rfc3464-01.eml"))
        #expect(report.kind == .dsn)
        #expect(report.recipients.count == 1)
        let r = try #require(report.recipients.first)
        #expect(r.address == "userunknown@bouncehammer.jp")
        #expect(r.action == .failed)
        #expect(r.status == EnhancedStatusCode(5, 1, 1))
        #expect(r.smtpCode == 550)
        #expect(r.classify().bounceClass == .badMailbox)
        #expect(r.classify().hardness == .hard)
    }

    @Test("Postfix and Sendmail DSNs are read from their delivery-status parts")
    func otherDSNs() throws {
        for name in ["sisimai-lhost-postfix-01.eml", "sisimai-lhost-sendmail-01.eml"] {
            let report = BounceReport(parsing: try Self.fixture(name))
            #expect(report.kind == .dsn, "\(name)")
            #expect(report.recipients.first?.status == EnhancedStatusCode(5, 1, 1), "\(name)")
            #expect(report.recipients.first?.isFailure == true, "\(name)")
        }
    }

    @Test("A Postfix DSN names the SMTP stage in its notice, not its Diagnostic-Code: a refusal at MAIL FROM suppresses nobody, Gmail's 5.1.1 at RCPT TO does")
    func postfixStage() throws {
        let mail = try #require(BounceReport(parsing: try Self.fixture("sisimai-lhost-postfix-54.eml")).recipients.first)
        #expect(mail.address == "neko-nyaan@example.ne.jp")
        #expect(mail.stage == .mail)
        #expect(!mail.classify().suppressesRecipient)
        let rcpt = try #require(BounceReport(parsing: try Self.fixture("sisimai-lhost-postfix-31.eml")).recipients.first)
        #expect(rcpt.address == "kijitora@gmail.com")
        #expect(rcpt.stage == .recipient)
        #expect(rcpt.classify().bounceClass == .badMailbox)
        #expect(rcpt.classify().suppressesRecipient)
        // The same words of an unknown user, once at MAIL FROM (Postfix's and Exim's wording): the sender's
        // address, so policy and no suppression; with no stage named, bad-mailbox as before.
        for diagnostic in ["550 5.1.1 <a@example.com>: Recipient address rejected: User unknown (in reply to MAIL FROM command)",
                           "SMTP error from remote mail server after MAIL FROM:<a@example.com> SIZE=1234: 550 5.1.1 User unknown"] {
            let r = BounceReport.Recipient(address: "b@example.org", action: .failed, status: EnhancedStatusCode(5, 1, 1),
                                           smtpCode: 550, diagnostic: diagnostic)
            #expect(r.stage == .mail, "\(diagnostic)")
            #expect(r.classify().bounceClass == .policy && !r.classify().suppressesRecipient, "\(diagnostic)")
        }
        let plain = BounceReport.Recipient(address: "b@example.org", action: .failed, status: EnhancedStatusCode(5, 1, 1),
                                           smtpCode: 550, diagnostic: "550 5.1.1 User unknown")
        #expect(plain.stage == nil && plain.classify().suppressesRecipient)
    }

    @Test("Exchange 2007's NDR is read from its delivery-status part, and its free text alone names the same failure")
    func exchange() throws {
        let bytes = try Self.fixture("sisimai-lhost-exchange2007-01.eml")
        let report = BounceReport(parsing: bytes)
        #expect(report.kind == .dsn)
        #expect(report.recipients.map(\.address) == ["mikeneko@example.co.jp"])
        #expect(report.recipients.first?.smtpCode == 550)
        // The human-readable part on its own (what Exchange sends when it omits the DSN part).
        let text = String(decoding: bytes, as: UTF8.self)
        let start = try #require(text.range(of: "Delivery has failed"))
        let end = try #require(text.range(of: "Original message headers:"))
        let free = BounceReport.init(parsing: Array(("Subject: Undeliverable\n\n" + text[start.lowerBound..<end.upperBound]).utf8))
        #expect(free.kind == .nonStandard)
        #expect(free.recipients.map(\.address) == ["mikeneko@example.co.jp"])
        #expect(free.recipients.first?.status == EnhancedStatusCode(5, 1, 1))
        #expect(free.reportingMTA == "mta4.example.org")
    }

    @Test("Free-text NDRs (Office 365, qmail, Gmail, Yahoo) name the recipient and the remote reply")
    func nonStandard() throws {
        let cases: [(String, String, Int?, EnhancedStatusCode?)] = [
            ("sisimai-lhost-office365-01.eml", "kijitora@example.com", 550, EnhancedStatusCode(5, 1, 10)),
            ("sisimai-lhost-qmail-01.eml", "kijitora@example.ne.jp", 550, nil),
            ("sisimai-lhost-gmail-01.eml", "userunknown@example.jp", 550, EnhancedStatusCode(5, 1, 1)),
            ("sisimai-lhost-yahoo-01.eml", "kijitora@example.org", 550, EnhancedStatusCode(5, 1, 1)),
        ]
        for (name, address, code, status) in cases {
            let report = BounceReport(parsing: try Self.fixture(name))
            #expect(report.kind == .nonStandard, "\(name)")
            #expect(report.recipients.map(\.address) == [address], "\(name)")
            #expect(report.recipients.first?.smtpCode == code, "\(name)")
            if let status { #expect(report.recipients.first?.status == status, "\(name)") }
            #expect(report.recipients.first?.action == .failed, "\(name)")
            #expect(report.recipients.first?.classify().hardness == .hard, "\(name)")
        }
        let o365 = BounceReport(parsing: try Self.fixture("sisimai-lhost-office365-01.eml"))
        #expect(o365.originalMessageID == "FFFFFFFF.EEEEEEEE@example.ed.jp")
        #expect(o365.recipients.first?.classify().bounceClass == .badMailbox)
    }

    @Test("DragonFly's sentence-style bounce with Gmail's multi-line DMARC refusal: a policy failure, never a bad mailbox")
    func dragonfly() throws {
        let report = BounceReport(parsing: try Self.fixture("sisimai-lhost-dragonfly-01.eml"))
        #expect(report.kind == .nonStandard)
        let r = try #require(report.recipients.first)
        #expect(report.recipients.map(\.address) == ["pseudo-local-part@google.example.com"])
        #expect(r.smtpCode == 550)
        #expect(r.status == EnhancedStatusCode(5, 7, 26))
        #expect(r.classify().bounceClass != .badMailbox)
        #expect(report.originalMessageID == "66681288.e06d1.3824794@df.example.jp")
    }

    @Test("An RFC 3834 vacation reply is an auto-reply, not a bounce")
    func autoReply() throws {
        let report = BounceReport(parsing: try Self.fixture("sisimai-rfc3834-01.eml"))
        #expect(report.kind == .autoReply)
        #expect(report.recipients.isEmpty)
    }

    @Test("A delayed DSN and Microsoft's 250 diagnostic with a 4.x.x status are transient failures")
    func delayedAndMicrosoft250() {
        let dsn = """
        From: MAILER-DAEMON@mx.example.net\r
        Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r
        \r
        --b1\r
        Content-Type: text/plain\r
        \r
        Delayed.\r
        --b1\r
        Content-Type: message/delivery-status\r
        \r
        Reporting-MTA: dns; mx.example.net\r
        \r
        Final-Recipient: rfc822; slow@example.org\r
        Action: delayed\r
        Status: 4.4.7\r
        Diagnostic-Code: smtp; 451 4.4.7 queue time exceeded\r
        \r
        Final-Recipient: rfc822; soft@outlook.example\r
        Action: relayed\r
        Status: 4.7.650\r
        Diagnostic-Code: smtp; 250 2.6.0 queued; 4.7.650 The mail server has been temporarily rate limited\r
        --b1--\r
        """
        let report = BounceReport(parsing: Array(dsn.utf8))
        #expect(report.kind == .dsn)
        #expect(report.reportingMTA == "mx.example.net")
        #expect(report.recipients.count == 2)
        #expect(report.recipients[0].action == .delayed)
        #expect(report.recipients[0].isTransient)
        #expect(report.recipients[1].isFailure)
        #expect(report.recipients[1].isTransient)
        #expect(report.recipients[1].effectiveCode == 451)
    }

    @Test("An ARF report gives feedback type, the (redacted) recipient of the enclosed message and the reporter")
    func arf() throws {
        let report = try #require(FeedbackReport(parsing: try Self.fixture("sisimai-arf-01.eml")))
        #expect(report.feedbackType == "abuse")
        #expect(report.recipient == "redacted@example.net")
        #expect(report.reporter == "SMP-FBL")
        #expect(BounceReport(parsing: try Self.fixture("sisimai-arf-01.eml")).kind != .dsn)
    }

    @Test("Yahoo's CFL report names the complaining recipient and the DKIM domain of the enclosed message")
    func yahooCFL() throws {
        let report = try #require(FeedbackReport(parsing: try Self.fixture("sisimai-arf-14.eml")))
        #expect(report.feedbackType == "abuse")
        #expect(report.recipient == "kijitora@y.example.com")
        #expect(report.reporter.hasPrefix("Yahoo!-Mail-Feedback"))
        #expect(report.originalMessageID == "2222222222222222-00000000-eeee-eeee-ffff-222222222222-111111@email.amazonses.com")
        #expect(report.originalMailFrom == "2222222222222222-22222222-0000-eeee-ffff-222222222222-222222@amazonses.com")
    }

    @Test("Microsoft JMRP has the recipient only in X-HmXmrOriginalRecipient")
    func jmrp() throws {
        let report = try #require(FeedbackReport(parsing: try Self.fixture("sisimai-arf-22.eml")))
        #expect(report.recipient == "kijitora@example.com")
        #expect(report.originalMessageID == "0000000000fffffffff0000000000000@example.com")
        #expect(report.dkimDomain == "")
        #expect(report.sourceIP == "192.0.2.22")
    }

    @Test("A DSN is not taken for a complaint")
    func dsnIsNotComplaint() throws {
        #expect(FeedbackReport(parsing: try Self.fixture("sisimai-rfc3464-01.eml")) == nil)
        #expect(FeedbackReport(parsing: try Self.fixture("sisimai-lhost-qmail-01.eml")) == nil)
    }

    @Test("A VERP address round-trips, and any altered field or tag is refused")
    func verp() {
        let mac: ([UInt8]) -> [UInt8] = { data in
            // A keyed toy MAC for the pure test; the node uses HMAC-SHA256.
            var h: UInt64 = 0xcbf29ce484222325 ^ 42
            var out: [UInt8] = []
            for round in 0..<2 {
                for b in data { h = (h ^ UInt64(b)) &* 0x100000001b3 }
                h ^= UInt64(round)
                for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: h >> (8 * UInt64(i)))) }
            }
            return out
        }
        let v = VERPAddress(queueID: "0K2ABCDEF12345XYZ9", recipientIndex: 3, notifySender: true, domain: "Bounces.Example.COM")
        let text = v.encoded(mac: mac)
        #expect(text.hasPrefix("bounce-0k2abcdef12345xyz9-3-n-"))
        #expect(text.hasSuffix("@bounces.example.com"))
        #expect(VERPAddress.decode(text, mac: mac) == .success(v))
        #expect(VERPAddress.decode(text.uppercased(), mac: mac) == .success(v))
        #expect(VERPAddress.decode(text.replacingOccurrences(of: "-3-n-", with: "-4-n-"), mac: mac) == .failure(.badTag))
        #expect(VERPAddress.decode(text.replacingOccurrences(of: "-3-n-", with: "-3-q-"), mac: mac) == .failure(.badTag))
        #expect(VERPAddress.decode(text.replacingOccurrences(of: "@bounces.", with: "@other."), mac: mac) == .failure(.badTag))
        let local = text.split(separator: "@")[0]
        var forgedTag = Array(local)
        forgedTag[forgedTag.count - 1] = forgedTag.last == "a" ? "b" : "a"
        #expect(VERPAddress.decode(String(forgedTag) + "@bounces.example.com", mac: mac) == .failure(.badTag))
        #expect(VERPAddress.decode("postmaster@bounces.example.com", mac: mac) == .failure(.notVERP))
        #expect(VERPAddress.decode("bounce-abc-x-n-aaaaaaaa@b.example", mac: mac) == .failure(.notVERP))
        let all = VERPAddress(queueID: "Q1", recipientIndex: nil, notifySender: false, domain: "b.example")
        #expect(VERPAddress.decode(all.encoded(mac: mac), mac: mac) == .success(all))
    }
}
