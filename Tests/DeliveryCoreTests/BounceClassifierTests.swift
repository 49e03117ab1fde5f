import Testing
@testable import DeliveryCore

@Suite("Bounce classification")
struct BounceClassifierTests {
    @Test("the corpus holds at least 300 distinct sourced replies, a quarter or more held out by the fixed hash rule")
    func corpusShape() {
        #expect(bounceCorpus.count >= 300)
        #expect(Set(bounceCorpus.map(\.reply)).count == bounceCorpus.count)
        for entry in bounceCorpus {
            // heldout2: replies collected and labelled after the rules were tuned, all held out.
            if entry.split != "heldout2" {
                #expect(entry.split == (entry.fnv1a % 100 < 30 ? "heldout" : "tune"), "split moved: \(entry.reply)")
            }
            #expect(entry.source.contains("http") || entry.source.contains("issue 12"), "no source: \(entry.reply)")
            #expect(BounceClass(rawValue: entry.expectedClass) != nil, "unknown class \(entry.expectedClass)")
            #expect(entry.parsed != nil, "unparseable: \(entry.reply)")
        }
        let heldOut = bounceCorpus.filter { $0.split == "heldout" }.count
        #expect(heldOut * 4 >= bounceCorpus.count)
        #expect(Set(bounceCorpus.map(\.expectedClass)).count >= 14)
    }

    @Test("agreement with the corpus: printed for every part; held-out must not fall below 84 % and heldout2 below 80 % (issue 12 asks 90 %, not reached yet); X.7.X never suppresses")
    func corpusAgreement() {
        let classifier = BounceClassifier()
        var agree: [String: Int] = [:]
        var total: [String: Int] = [:]
        var classAgree: [String: Int] = [:]
        var tuneMisses: [String] = []
        var excluded: [String: Int] = [:]
        for entry in bounceCorpus {
            guard let reply = entry.parsed else { continue }
            // Issue 12 forbids a bad mailbox/domain for security or policy codes (X.7.X) whatever
            // the reply means; where the source says bad mailbox/domain for one, the required
            // answer is not the source's, so the entry is counted apart (fixed rule, not by outcome).
            if reply.enhancedCode?.subject == 7, ["bad-mailbox", "bad-domain"].contains(entry.expectedClass) {
                excluded[entry.split, default: 0] += 1
                #expect(!classifier.classify(reply).suppressesRecipient, "X.7.X must not suppress: \(entry.reply)")
                continue
            }
            let result = classifier.classify(reply)
            let classOK = result.bounceClass.rawValue == entry.expectedClass
            let ok = classOK && result.hardness.rawValue == entry.hardness
            total[entry.split, default: 0] += 1
            if ok { agree[entry.split, default: 0] += 1 }
            if classOK { classAgree[entry.split, default: 0] += 1 }
            // Only tune-part misses are shown; held-out replies are measured, never looked at.
            if !ok, entry.split == "tune" {
                tuneMisses.append("  want \(entry.expectedClass)/\(entry.hardness) got \(result.bounceClass.rawValue)/\(result.hardness.rawValue) [\(result.rule)] \(entry.reply.prefix(160))")
            }
        }
        func percent(_ split: String, _ counts: [String: Int]) -> Double {
            Double(counts[split, default: 0]) * 100 / Double(max(1, total[split, default: 0]))
        }
        for split in ["heldout", "heldout2"] {
            total["heldout+heldout2", default: 0] += total[split, default: 0]
            agree["heldout+heldout2", default: 0] += agree[split, default: 0]
            classAgree["heldout+heldout2", default: 0] += classAgree[split, default: 0]
            excluded["heldout+heldout2", default: 0] += excluded[split, default: 0]
        }
        for split in ["tune", "heldout", "heldout2", "heldout+heldout2"] {
            print("bounce corpus \(split): \(agree[split, default: 0])/\(total[split, default: 0]) family+hardness = "
                  + String(format: "%.1f %%", percent(split, agree))
                  + String(format: " (family alone %.1f %%)", percent(split, classAgree))
                  + "; \(excluded[split, default: 0]) X.7.X replies the source calls bad mailbox/domain counted apart")
        }
        if !tuneMisses.isEmpty { print("tune misses:\n" + tuneMisses.joined(separator: "\n")) }
        #expect(total["heldout", default: 0] >= 75)
        #expect(total["heldout2", default: 0] >= 40)
        // Issue 12 asks for 90 % (target 95 %), not reached. Measured when the rules were last tuned
        // (on the tune part only; see Fixtures/README.md for how often each part was looked at):
        // heldout 147/175 = 84.0 %, heldout2 38/47 = 80.9 %, both 185/222 = 83.3 %. These floors
        // keep that level from slipping; raise them as rules improve.
        #expect(percent("heldout", agree) >= 84, "held-out agreement below 84 %")
        #expect(percent("heldout2", agree) >= 80, "heldout2 agreement below 80 %")
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
