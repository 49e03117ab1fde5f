import Testing
@testable import DeliveryCore

/// The replies quoted in issue 12, exactly as quoted there.
@Suite("Bounce classification regressions (issue 12)")
struct BounceClassifierRegressionTests {
    let classifier = BounceClassifier()

    @Test("Yahoo's TSS09 IP block is a hard reputation block, not a bad mailbox")
    func yahooTSS09() throws {
        let reply = try #require(SMTPReply(parsing: "553 5.7.2 [TSS09] All messages from <IP> will be permanently deferred; Retrying will NOT succeed"))
        let result = classifier.classify(reply)
        #expect(result.bounceClass == .reputationBlock)
        #expect(result.hardness == .hard)
    }

    @Test("Gmail's 421 unusual rate of unsolicited mail is a soft rate limit")
    func gmailUnusualRate() throws {
        let reply = try #require(SMTPReply(parsing: "421-4.7.28 [192.0.2.1] Our system has detected an unusual rate of\r\n421-4.7.28 unsolicited mail originating from your IP address. To protect our\r\n421 4.7.28 users from spam, mail sent from your IP address has been temporarily rate limited. - gsmtp"))
        #expect(classifier.classify(reply) == BounceClassification(.rateLimited, .soft, rule: classifier.classify(reply).rule))
        #expect(classifier.classify(reply).bounceClass == .rateLimited)
    }

    @Test("Yahoo's TSS04 deferral is a soft rate limit")
    func yahooTSS04() throws {
        let reply = try #require(SMTPReply(parsing: "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"))
        let result = classifier.classify(reply)
        #expect(result.bounceClass == .rateLimited && result.hardness == .soft)
    }

    @Test("421 Too many connections from your IP is a soft rate limit")
    func tooManyConnections() throws {
        let reply = try #require(SMTPReply(parsing: "421 4.7.0 Too many connections from your IP (192.0.2.1), try again later"))
        #expect(classifier.classify(reply).bounceClass == .rateLimited)
        let bare = try #require(SMTPReply(parsing: "421 Too many connections from your IP"))
        #expect(classifier.classify(bare).bounceClass == .rateLimited)
    }

    @Test("no X.7.X reply is ever a bad mailbox or bad domain, whatever its text says",
          arguments: [
              "550 5.7.1 <user@example.com>: Recipient address rejected: User unknown",
              "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred",
              "554 5.7.1 <kijitora@example.ch>: Recipient address rejected: Access denied",
              "550 5.7.0 mailbox unavailable: does not exist",
              "553 5.7.9 domain does not exist",
          ])
    func securityNeverAddress(text: String) throws {
        let reply = try #require(SMTPReply(parsing: text))
        let result = classifier.classify(reply)
        #expect(result.bounceClass != .badMailbox && result.bounceClass != .badDomain, "\(text) -> \(result.rule)")
        #expect(!result.suppressesRecipient)
    }

    @Test("only recipient-specific hard failures suppress: 5.1.1, 5.1.10, 5.2.1 disabled, well-known texts")
    func suppressingFailures() throws {
        for text in ["550 5.1.1 The email account that you tried to reach does not exist.",
                     "556 5.1.10 Recipient address has null MX",
                     "550 5.2.1 The email account that you tried to reach is disabled.",
                     "550 Requested action not taken: mailbox unavailable (user unknown)",
                     "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - mta1061.mail.ne1.yahoo.com"] {
            let reply = try #require(SMTPReply(parsing: text))
            #expect(classifier.classify(reply).suppressesRecipient, "\(text) -> \(classifier.classify(reply).rule)")
        }
        for text in ["421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred",
                     "550 5.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.",
                     "450 4.1.1 <x@example.com>: Recipient address rejected: unverified address"] {
            let reply = try #require(SMTPReply(parsing: text))
            #expect(!classifier.classify(reply).suppressesRecipient, "\(text)")
        }
    }
}
