import Testing
@testable import DeliveryCore

@Suite("Bounce classification")
struct BounceClassifierTests {
    @Test("the published reply corpus holds at least 120 distinct replies")
    func corpusSize() {
        #expect(bounceCorpus.count >= 120)
        #expect(Set(bounceCorpus.map(\.reply)).count == bounceCorpus.count)
    }

    @Test("every corpus reply parses and classifies to its expected class and hardness",
          arguments: bounceCorpus.indices)
    func corpusEntry(index: Int) throws {
        let entry = bounceCorpus[index]
        let reply = try #require(SMTPReply(parsing: entry.reply), "unparseable: \(entry.reply)")
        let result = BounceClassifier().classify(reply)
        #expect(result.bounceClass == entry.bounceClass, "\(entry.reply) -> rule \(result.rule)")
        #expect(result.hardness == entry.hardness, "\(entry.reply) -> rule \(result.rule)")
    }

    @Test("raw values are lowercase kebab strings as used in events")
    func rawValues() {
        #expect(BounceClass.badMailbox.rawValue == "bad-mailbox")
        #expect(BounceClass.messageTooLarge.rawValue == "message-too-large")
        #expect(BounceClass.authFailure.rawValue == "auth-failure")
        for value in BounceClass.allCases {
            #expect(value.rawValue == value.rawValue.lowercased())
            #expect(!value.rawValue.contains(" ") && !value.rawValue.contains("_"))
        }
    }

    @Test("a multi-line reply with the enhanced code repeated on every line keeps the code once")
    func multiLineGmail() throws {
        let reply = try #require(SMTPReply(parsing: "550-5.1.1 The email account\r\n550 5.1.1 does not exist"))
        #expect(reply.code == 550)
        #expect(reply.enhancedCode == EnhancedStatusCode(5, 1, 1))
        #expect(reply.text == "The email account does not exist")
    }

    @Test("unknown failures fall back on the reply code: 5xx hard, 4xx soft")
    func fallback() {
        let classifier = BounceClassifier()
        let hard = classifier.classify(code: 554, enhancedCode: nil, text: "xyzzy")
        #expect(hard.bounceClass == .other && hard.hardness == .hard && hard.rule == "fallback-code")
        let soft = classifier.classify(code: 451, enhancedCode: nil, text: "xyzzy")
        #expect(soft.bounceClass == .other && soft.hardness == .soft)
        #expect(classifier.classify(code: 250, enhancedCode: nil, text: "ok").rule == "not-a-failure")
    }

    @Test("a custom rule placed first overrides the built-in table")
    func customRule() {
        let custom = BounceClassifier.Rule("acme-special", text: [["acme-42"]], .reputationBlock, hardness: .soft)
        let classifier = BounceClassifier(rules: [custom] + BounceClassifier.standardRules)
        let result = classifier.classify(code: 550, enhancedCode: EnhancedStatusCode(5, 1, 1), text: "user unknown ACME-42")
        #expect(result == BounceClassification(.reputationBlock, .soft, rule: "acme-special"))
    }

    @Test("local failures classify as timeout, DNS, bad domain or TLS with sensible hardness")
    func localFailures() {
        let classifier = BounceClassifier()
        #expect(classifier.classify(.connectionRefused).bounceClass == .timeout)
        #expect(classifier.classify(.dnsTemporaryFailure) == BounceClassification(.dnsFailure, .soft, rule: "local-dns-temporary-failure"))
        #expect(classifier.classify(.nullMX).hardness == .hard)
        #expect(classifier.classify(.tlsVerificationFailed).bounceClass == .tlsFailure)
        #expect(classifier.classify(.queueLifetimeExpired).hardness == .hard)
        for failure in BounceClassifier.LocalFailure.allCases {
            let reply = BounceClassifier.syntheticReply(for: failure, host: "mx.example")
            #expect(reply.code >= 400 && reply.text.hasPrefix("mx.example: "))
        }
    }

    @Test("throttle signals are exactly rate limits and reputation blocks")
    func throttleSignal() {
        #expect(BounceClassification(.rateLimited, .soft, rule: "x").isThrottleSignal)
        #expect(BounceClassification(.reputationBlock, .hard, rule: "x").isThrottleSignal)
        #expect(!BounceClassification(.greylisted, .soft, rule: "x").isThrottleSignal)
    }
}
