import Testing
import DeliveryCore

/// Issue 12: only a recipient-specific hard failure may suppress. The SMTP stage a reply arrived at decides
/// whose address it is about: a reply at connect, EHLO or MAIL FROM concerns the sender or the connection
/// (never a recipient class), a reply to DATA or to the message speaks for every recipient at once, and only
/// a RCPT TO reply names one recipient.
@Suite("Bounce classification by SMTP stage")
struct BounceClassifierStageTests {
    let classifier = BounceClassifier()

    func reply(_ text: String) -> SMTPReply { SMTPReply(parsing: text)! }

    @Test("a sender-side '550 5.1.7 no such domain' and an unknown-user 550 5.1.1 at MAIL FROM are policy and suppress nobody")
    func mailFromIsSenderSide() {
        for text in ["550 5.1.7 <bounce@relay.test>: Sender address rejected: no such domain",
                     "550 5.1.1 <bounce@relay.test>: Recipient address rejected: User unknown in local recipient table",
                     "553 5.1.2 Domain of sender address bounce@relay.test does not exist"] {
            let plain = classifier.classify(reply(text))
            let atMail = classifier.classify(reply(text), at: .mail)
            #expect(atMail.bounceClass == .policy, "\(text) -> \(atMail.bounceClass) [\(atMail.rule)]")
            #expect(atMail.hardness == .hard)
            #expect(atMail.stage == .mail)
            // Remapped ("@mail") exactly when the text alone reads as an address class.
            #expect(atMail.rule.hasSuffix("@mail") == [.badMailbox, .badDomain].contains(plain.bounceClass), "\(text): \(plain.rule)")
            #expect(!atMail.suppressesRecipient, "\(text)")
        }
    }

    @Test("an expiry suppresses only when the last deferral named the address: 450 4.1.1 at RCPT, DATA or with no stage does; at MAIL FROM, a rate limit, an outage or a full mailbox does not")
    func expirySuppression() {
        let gone = "450 4.1.1 <gone@example.com>: Recipient address rejected: mailbox unavailable"
        for stage: SMTPClientSession.Stage? in [.recipient, .data, nil] {
            #expect(classifier.classify(reply(gone), at: stage).suppressesRecipientOnExpiry, "\(String(describing: stage))")
        }
        for stage: SMTPClientSession.Stage in [.greeting, .hello, .mail] {
            #expect(!classifier.classify(reply(gone), at: stage).suppressesRecipientOnExpiry, "\(stage)")
        }
        for text in ["421 4.7.28 rate limited, try again later", "451 4.3.0 temporary trouble",
                     "452 4.2.2 The email account that you tried to reach is over quota",
                     "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints"] {
            let c = classifier.classify(reply(text), at: .recipient)
            #expect(!c.suppressesRecipientOnExpiry, "\(text) -> \(c.bounceClass)")
        }
    }

    @Test("the same 550 5.1.1 at RCPT TO is bad-mailbox and suppresses; with no stage it classifies as before")
    func recipientStageSuppresses() {
        let text = "550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown in local recipient table"
        let atRcpt = classifier.classify(reply(text), at: .recipient)
        #expect(atRcpt.bounceClass == .badMailbox && atRcpt.hardness == .hard)
        #expect(atRcpt.suppressesRecipient)
        let unknown = classifier.classify(reply(text), at: nil)
        #expect(unknown == classifier.classify(reply(text)))
        #expect(unknown.suppressesRecipient)
    }

    @Test("at connect, EHLO, STARTTLS and AUTH no reply gets a recipient class: bad mailbox/domain become policy, a full mailbox other")
    func sessionStagesNeverRecipientClasses() {
        let texts = ["554 5.1.1 mailbox unavailable", "550 5.1.2 Host unknown: domain does not exist",
                     "552 5.2.2 Mailbox full, quota exceeded", "452 4.2.2 Mailbox full"]
        for stage in [SMTPClientSession.Stage.greeting, .hello, .startTLS, .auth, .reset, .mail] {
            for text in texts {
                let plain = classifier.classify(reply(text))
                #expect([.badMailbox, .badDomain, .mailboxFull].contains(plain.bounceClass), "the premise: \(text) -> \(plain.bounceClass)")
                let staged = classifier.classify(reply(text), at: stage)
                #expect(![.badMailbox, .badDomain, .mailboxFull].contains(staged.bounceClass), "\(stage): \(text) -> \(staged.bounceClass)")
                #expect(staged.bounceClass == (plain.bounceClass == .mailboxFull ? .other : .policy))
                #expect(staged.hardness == (text.hasPrefix("5") ? .hard : .soft), "\(stage): \(text)")
                #expect(!staged.suppressesRecipient)
            }
        }
    }

    @Test("at DATA or after the message a 550 5.1.1 keeps its class but suppresses nobody (it speaks for every recipient)")
    func dataStageDoesNotSuppress() {
        for stage in [SMTPClientSession.Stage.data, .body] {
            let result = classifier.classify(reply("550 5.1.1 <a@example.com>... User unknown"), at: stage)
            #expect(result.bounceClass == .badMailbox)
            #expect(!result.suppressesRecipient, "\(stage)")
        }
    }

    @Test("classes other than the address classes are the same at every stage (rate limits and IP blocks still drive the throttle)")
    func otherClassesUnchanged() {
        let texts = ["421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address. - gsmtp",
                     "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                     "450 4.7.1 Greylisted, please try again in 300 seconds",
                     "552 5.3.4 Message size exceeds fixed limit"]
        for text in texts {
            let plain = classifier.classify(reply(text))
            for stage in [SMTPClientSession.Stage.greeting, .hello, .mail, .recipient, .data, .body] {
                let staged = classifier.classify(reply(text), at: stage)
                #expect(staged.bounceClass == plain.bounceClass && staged.hardness == plain.hardness && staged.rule == plain.rule,
                        "\(stage): \(text)")
            }
        }
    }

    @Test("every corpus and pool reply classifies with no stage and at RCPT exactly as without a stage (the corpus figures cannot move)")
    func corpusUnchangedWithoutStage() {
        var checked = 0
        for entry in bounceCorpus + bouncePool8 {
            guard let parsed = entry.parsed else { continue }
            let plain = classifier.classify(parsed)
            for stage in [nil, SMTPClientSession.Stage.recipient] {
                let staged = classifier.classify(parsed, at: stage)
                #expect(staged.bounceClass == plain.bounceClass && staged.hardness == plain.hardness && staged.rule == plain.rule)
                #expect(staged.suppressesRecipient == plain.suppressesRecipient)
            }
            checked += 1
        }
        #expect(checked > 900)
    }

    @Test("the delivery decision bounces a 550 5.1.1 at MAIL FROM as policy and at RCPT as bad-mailbox")
    func decisionCarriesStage() {
        var generator = SystemRandomNumberGenerator()
        let text = reply("550 5.1.1 <x@example.com>: User unknown")
        let atMail = DeliveryDecision.decide(recipient: "x@example.com", reply: text, stage: .mail, failedAttempts: 1,
                                             queuedAt: 0, now: 1, using: &generator)
        #expect(atMail.verdict == .bounced && atMail.bounceClass == "policy")
        #expect(atMail.classification?.suppressesRecipient == false)
        let atRcpt = DeliveryDecision.decide(SMTPClientSession.RecipientResult(address: "x@example.com", reply: text, isLocal: false,
                                                                               stage: .recipient),
                                             failedAttempts: 1, queuedAt: 0, now: 1, using: &generator)
        #expect(atRcpt.verdict == .bounced && atRcpt.bounceClass == "bad-mailbox")
        #expect(atRcpt.classification?.suppressesRecipient == true)
    }
}

/// The session reports, per recipient, the stage whose reply decided it.
@Suite("SMTP client session: the stage of each recipient's reply")
struct SMTPClientSessionStageTests {
    @Test("a MAIL FROM refusal gives every recipient stage mail; RCPT replies give recipient; the end-of-data reply gives body")
    func stagesPerRecipient() {
        var (session, _) = connectedSession(standardKeywords)
        _ = session.submit(plainTransaction(["a@example.com", "b@example.com"]))
        let refused = session.server("550 5.1.1 <sender@relay.test>: unknown user\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n")
        let mailResult = try! #require(finishedResults(refused).first)
        #expect(mailResult.recipients.map(\.stage) == [.mail, .mail])

        var (second, _) = connectedSession(standardKeywords)
        _ = second.submit(plainTransaction(["a@example.com", "b@example.com"]))
        _ = second.server("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <b@example.com>: User unknown\r\n354 go\r\n")
        let done = second.server("550 5.7.1 message content rejected\r\n")
        let result = try! #require(finishedResults(done).first)
        #expect(result.recipients.map(\.stage) == [.body, .recipient])
    }

    @Test("a rejected greeting gives the queued recipients stage greeting; a refused DATA gives data")
    func greetingAndData() {
        var session = Session(configuration: .init(heloName: "relay.test"))
        _ = session.submit(plainTransaction(["a@example.com"]))
        let actions = session.server("554 5.1.1 no mail service for you\r\n")
        #expect(finishedResults(actions).first?.recipients.map(\.stage) == [.greeting])

        var (lockstep, _) = connectedSession(["SIZE 1000"])
        _ = lockstep.submit(plainTransaction(["a@example.com"]))
        _ = lockstep.server("250 ok\r\n")
        _ = lockstep.server("250 ok\r\n")
        let refused = lockstep.server("554 5.5.1 no valid recipients\r\n")
        #expect(finishedResults(refused).first?.recipients.map(\.stage) == [.data])
    }
}
