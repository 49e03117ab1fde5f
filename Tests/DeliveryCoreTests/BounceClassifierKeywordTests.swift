import Testing
@testable import DeliveryCore

@Suite("Bounce classification: word families, code priors and quoted codes")
struct BounceClassifierKeywordTests {
    let classifier = BounceClassifier()

    @Test("when no phrase rule matches, the word families decide: 'no such person' is a bad mailbox, a mailbox that 'exceeds' is full")
    func familiesDecide() {
        let person = classifier.classify(code: 550, enhancedCode: nil, text: "no such person at this address")
        #expect(person == BounceClassification(.badMailbox, .hard, rule: "keywords-bad-mailbox"))
        let full = classifier.classify(code: 552, enhancedCode: nil, text: "User mailbox exceeds allowed size")
        #expect(full == BounceClassification(.mailboxFull, .soft, rule: "keywords-mailbox-full"))
    }

    @Test("a bad domain takes a domain word and a word of absence; a domain word alone does not make one")
    func badDomainNeedsAbsence() {
        #expect(classifier.classify(code: 550, enhancedCode: nil, text: "the remote domain must exist").bounceClass == .badDomain)
        #expect(classifier.classify(code: 451, enhancedCode: nil, text: "Could not load DRD for domain (example.com)").bounceClass == .other)
        #expect(classifier.classify(code: 550, enhancedCode: nil, text: "this account does not exist").bounceClass == .badMailbox)
    }

    @Test("an enhanced code is a prior the words must outweigh: one weak word keeps X.1.1's bad mailbox, strong words override it")
    func enhancedPrior() {
        let weak = classifier.classify(code: 550, enhancedCode: EnhancedStatusCode(5, 1, 1), text: "xyzzy blocked")
        #expect(weak == BounceClassification(.badMailbox, .hard, rule: "enhanced-bad-mailbox"))
        let strong = classifier.classify(code: 550, enhancedCode: EnhancedStatusCode(5, 1, 1), text: "xyzzy blocked, listed by an rbl")
        #expect(strong == BounceClassification(.reputationBlock, .hard, rule: "keywords-reputation-block"))
    }

    @Test("security and policy codes (X.7.X) never get an address class from the words either")
    func securityNeverAddress() {
        let result = classifier.classify(code: 550, enhancedCode: EnhancedStatusCode(5, 7, 1), text: "xyzzy person unknown")
        #expect(result.bounceClass != .badMailbox && result.bounceClass != .badDomain)
        #expect(!result.suppressesRecipient)
    }

    @Test("an enhanced code quoted in the text stands in for a missing leading one only when its class matches the reply code's")
    func quotedCode() {
        #expect(BounceClassifier.embeddedEnhancedCode(in: Array("sorry (#5.1.1)".utf8), replyCode: 550) == EnhancedStatusCode(5, 1, 1))
        #expect(BounceClassifier.embeddedEnhancedCode(in: Array("sorry (#5.1.1)".utf8), replyCode: 450) == nil)
        #expect(BounceClassifier.embeddedEnhancedCode(in: Array("deferred - 4.16.55.1; see".utf8), replyCode: 421) == nil)
        #expect(classifier.classify(code: 550, enhancedCode: nil, text: "xyzzy (#5.1.1)").rule == "enhanced-bad-mailbox")
        #expect(classifier.classify(code: 550, enhancedCode: nil, text: "xyzzy (#4.1.1)").rule == "fallback-code")
        // A quoted X.7.X makes it a security/policy reply: no address class.
        #expect(classifier.classify(code: 550, enhancedCode: nil, text: "user unknown [#5.7.1]").bounceClass != .badMailbox)
    }
}
