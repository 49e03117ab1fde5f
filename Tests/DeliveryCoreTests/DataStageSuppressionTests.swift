import Testing
import DeliveryCore

/// Receivers that check the mailbox only after DATA accept every RCPT TO and refuse the message with
/// "550 5.1.1 User unknown". A reply to DATA or to the message speaks for every accepted recipient at once;
/// when the transaction accepted exactly one, it can only be about that recipient (or the message), so a
/// hard address class suppresses it as at RCPT TO. With two or more it suppresses nobody.
@Suite("DATA-stage suppression with one accepted recipient")
struct DataStageSuppressionTests {
    let classifier = BounceClassifier()
    static let unknownUser = "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in local recipient table"

    func reply(_ text: String) -> SMTPReply { SMTPReply(parsing: text)! }

    @Test("550 5.1.1 at DATA or after the message: one accepted recipient suppresses; none known, two or more do not")
    func countDecides() {
        for stage in [SMTPClientSession.Stage.data, .body] {
            let r = reply(Self.unknownUser)
            let c = classifier.classify(r, at: stage)
            #expect(c.bounceClass == .badMailbox && c.hardness == .hard, "the premise at \(stage): \(c.rule)")
            #expect(c.suppressesRecipient(acceptedRecipients: 1, enhancedCode: r.enhancedCode), "\(stage)")
            for count in [0, 2, 3, 50] {
                #expect(!c.suppressesRecipient(acceptedRecipients: count, enhancedCode: r.enhancedCode), "\(stage), \(count) accepted")
            }
            #expect(!c.suppressesRecipient, "without a count the reply speaks for the transaction")
        }
    }

    @Test("a bad domain at the end of data with one accepted recipient suppresses too")
    func badDomain() {
        let r = reply("550 5.1.2 <gone@nowhere.example>: Recipient address rejected: Domain not found")
        let c = classifier.classify(r, at: .body)
        #expect(c.bounceClass == .badDomain && c.hardness == .hard, "the premise: \(c.rule)")
        #expect(c.suppressesRecipient(acceptedRecipients: 1, enhancedCode: r.enhancedCode))
        #expect(!c.suppressesRecipient(acceptedRecipients: 2, enhancedCode: r.enhancedCode))
    }

    @Test("at the end of data an address class from wording alone (no X.1.x code naming a recipient) does not suppress a lone recipient")
    func wordingAloneDoesNot() {
        let texts = ["553 sorry, that domain isn't in my list of allowed rcpthosts",
                     "550 header From domain does not exist",
                     "550 5.5.0 Mailbox unavailable: header address does not exist",
                     "550 User unknown"]
        for text in texts {
            let r = reply(text)
            for stage in [SMTPClientSession.Stage.data, .body] {
                let c = classifier.classify(r, at: stage)
                #expect(!c.suppressesRecipient(acceptedRecipients: 1, enhancedCode: r.enhancedCode),
                        "\(stage): \(text) -> \(c.bounceClass) \(c.hardness) [\(c.rule)]")
            }
        }
        #expect(BounceClassification.namesRecipientAddress(EnhancedStatusCode(5, 1, 1)))
        #expect(BounceClassification.namesRecipientAddress(EnhancedStatusCode(5, 1, 10)))
        #expect(!BounceClassification.namesRecipientAddress(EnhancedStatusCode(5, 1, 7)), "X.1.7: the sender's address")
        #expect(!BounceClassification.namesRecipientAddress(EnhancedStatusCode(5, 7, 1)))
        #expect(!BounceClassification.namesRecipientAddress(nil))
    }

    @Test("with one accepted recipient a 5.7.X, spam, reputation, policy or soft DATA reply does not suppress")
    func otherClassesDoNot() {
        let texts = ["550 5.7.1 <gone@example.com>: Recipient address rejected: Access denied",
                     "550 5.7.1 User unknown; message refused by policy",
                     "554 5.7.1 Message rejected as spam by Content Filtering",
                     "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                     "552 5.3.4 Message size exceeds fixed limit",
                     "451 4.1.1 <gone@example.com>: Recipient address rejected: try again later"]
        for text in texts {
            for stage in [SMTPClientSession.Stage.data, .body] {
                let c = classifier.classify(reply(text), at: stage)
                #expect(!c.suppressesRecipient(acceptedRecipients: 1, enhancedCode: reply(text).enhancedCode),
                        "\(stage): \(text) -> \(c.bounceClass) \(c.hardness) [\(c.rule)]")
            }
        }
    }

    @Test("at RCPT TO and with no stage the count changes nothing; before RCPT TO nothing suppresses")
    func otherStagesUnchanged() {
        let rcpt = classifier.classify(reply(Self.unknownUser), at: .recipient)
        let none = classifier.classify(reply(Self.unknownUser), at: nil)
        for count in [0, 1, 2] {
            #expect(rcpt.suppressesRecipient(acceptedRecipients: count) == rcpt.suppressesRecipient)
            #expect(rcpt.suppressesRecipient(acceptedRecipients: count))
            #expect(none.suppressesRecipient(acceptedRecipients: count))
            for stage in [SMTPClientSession.Stage.greeting, .hello, .startTLS, .auth, .reset, .mail] {
                #expect(!classifier.classify(reply(Self.unknownUser), at: stage).suppressesRecipient(acceptedRecipients: count), "\(stage)")
            }
        }
        let full = classifier.classify(reply("552 5.2.2 Mailbox full, quota exceeded"), at: .recipient)
        #expect(!full.suppressesRecipient(acceptedRecipients: 1))
    }

    @Test("expiry: a 450 4.1.1 at DATA as the last deferral of a one-recipient transaction suppresses (as before; it never read the count)")
    func expiry() {
        let c = classifier.classify(reply("450 4.1.1 <gone@example.com>: Recipient address rejected: unverified address"), at: .data)
        #expect(c.bounceClass == .badMailbox, "the premise: \(c.rule)")
        #expect(c.suppressesRecipientOnExpiry)
    }
}

/// The session counts the recipients the receiver accepted in each transaction.
@Suite("SMTP client session: accepted recipients of a transaction")
struct SMTPClientSessionAcceptedTests {
    @Test("two recipients, one refused at RCPT: one accepted; the end-of-data 550 5.1.1 reaches it at stage body")
    func oneOfTwoAccepted() {
        var (session, _) = connectedSession(standardKeywords)
        _ = session.submit(plainTransaction(["a@example.com", "b@example.com"]))
        _ = session.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <b@example.com>: User unknown\r\n354 go\r\n")
        let done = session.server("550 5.1.1 <a@example.com>: User unknown\r\n")
        let result = try! #require(finishedResults(done).first)
        #expect(result.acceptedRecipients == 1)
        #expect(result.recipients.map(\.stage) == [.body, .recipient])
    }

    @Test("two accepted recipients count two; a refused MAIL FROM counts none; a refused DATA keeps the count")
    func counts() {
        var (both, _) = connectedSession(standardKeywords)
        _ = both.submit(plainTransaction(["a@example.com", "b@example.com"]))
        _ = both.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n")
        let done = both.server("550 5.1.1 User unknown\r\n")
        #expect(finishedResults(done).first?.acceptedRecipients == 2)

        var (mail, _) = connectedSession(standardKeywords)
        _ = mail.submit(plainTransaction(["a@example.com"]))
        let refused = mail.server("550 5.1.8 sender refused\r\n250 2.1.5 Ok\r\n503 5.5.1 need MAIL\r\n")
        #expect(finishedResults(refused).first?.acceptedRecipients == 0)

        var (lockstep, _) = connectedSession(["SIZE 1000", "ENHANCEDSTATUSCODES"])
        _ = lockstep.submit(plainTransaction(["a@example.com"]))
        _ = lockstep.server("250 ok\r\n")
        _ = lockstep.server("250 ok\r\n")
        let data = lockstep.server("550 5.1.1 <a@example.com>: User unknown\r\n")
        let result = try! #require(finishedResults(data).first)
        #expect(result.acceptedRecipients == 1 && result.recipients.map(\.stage) == [.data])
    }

    @Test("BDAT LAST refused with 550 5.1.1 for the one accepted recipient: count one, stage body")
    func bdat() {
        var (session, _) = connectedSession(["PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"])
        _ = session.submit(plainTransaction(["a@example.com"]))
        _ = session.server("250 ok\r\n250 ok\r\n")
        let done = session.server("550 5.1.1 <a@example.com>: User unknown\r\n")
        let result = try! #require(finishedResults(done).first)
        #expect(result.acceptedRecipients == 1 && result.recipients.map(\.stage) == [.body])
    }
}
