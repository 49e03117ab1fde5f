import Testing
import SendarixSupport
@testable import DeliveryCore

@Suite("Bounce classification: word families, code priors and quoted codes")
struct BounceClassifierKeywordTests {
    let classifier = BounceClassifier()

    @Test("when no phrase rule matches, the learned model (words, word families as its prior, codes) decides: 'no such person' is a bad mailbox, a mailbox that 'exceeds' is full")
    func familiesDecide() {
        let person = classifier.classify(code: 550, enhancedCode: nil, text: "no such person at this address")
        #expect(person == BounceClassification(.badMailbox, .hard, rule: "model-bad-mailbox"))
        let full = classifier.classify(code: 552, enhancedCode: nil, text: "User mailbox exceeds allowed size")
        #expect(full == BounceClassification(.mailboxFull, .soft, rule: "model-mailbox-full"))
    }

    @Test("a bad domain takes a domain word and a word of absence; a domain word alone does not make one")
    func badDomainNeedsAbsence() {
        #expect(classifier.classify(code: 550, enhancedCode: nil, text: "the remote domain must exist").bounceClass == .badDomain)
        #expect(classifier.classify(code: 451, enhancedCode: nil, text: "Could not load DRD for domain (example.com)").bounceClass == .other)
        #expect(classifier.classify(code: 550, enhancedCode: nil, text: "this account does not exist").bounceClass == .badMailbox)
    }

    @Test("the codes are model features the words must outweigh: with no known word X.1.1 keeps its bad mailbox, block-list words override it")
    func enhancedPrior() {
        let unknownWords = classifier.classify(code: 550, enhancedCode: EnhancedStatusCode(5, 1, 1), text: "xyzzy qwxv")
        #expect(unknownWords == BounceClassification(.badMailbox, .hard, rule: "enhanced-bad-mailbox"))
        let strong = classifier.classify(code: 550, enhancedCode: EnhancedStatusCode(5, 1, 1), text: "xyzzy blocked, listed by an rbl")
        #expect(strong == BounceClassification(.reputationBlock, .hard, rule: "model-reputation-block"))
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

    @Test("the byte search finds a needle exactly where a naive scan does: 20,000 seeded haystacks over a 3-letter alphabet, needles at the edges, overlapping and longer than the text")
    func byteSearchMatchesNaive() {
        var rng = SplitMix64(seed: 20261205)
        func naive(_ h: [UInt8], _ n: [UInt8]) -> Bool {
            guard !n.isEmpty else { return true }
            guard h.count >= n.count else { return false }
            return (0...(h.count - n.count)).contains { Array(h[$0..<($0 + n.count)]) == n }
        }
        var found = 0
        for _ in 0..<20_000 {
            let haystack = (0..<Int.random(in: 0...24, using: &rng)).map { _ in UInt8.random(in: 97...99, using: &rng) }
            let needle = (0..<Int.random(in: 0...5, using: &rng)).map { _ in UInt8.random(in: 97...99, using: &rng) }
            let fast = haystack.withUnsafeBufferPointer { BounceClassifier.contains($0, needle) }
            #expect(fast == naive(haystack, needle), "haystack \(haystack) needle \(needle)")
            if fast { found += 1 }
        }
        #expect(found > 5_000 && found < 19_000)
        #expect("-----  The following".lowercased().containsBytes("the following"))
        #expect(!"abc".containsBytes("abcd"))
        #expect("  \tcaf\u{E9} \t".trimmingBlanks == "caf\u{E9}")
        #expect(" \t ".trimmingBlanks == "")
    }
}
