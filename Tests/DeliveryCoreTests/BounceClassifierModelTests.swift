import Foundation
import Testing
@testable import DeliveryCore

@Suite("Bounce classification: the learned model")
struct BounceClassifierModelTests {
    @Test("the generated model comes from the committed training data: the input checksum in BounceClassifier+Model.swift matches the fixtures, the training script and the word families")
    func checksumMatchesInputs() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let inputs = ["bounce-corpus.jsonl", "bounce-pool4.jsonl", "bounce-pool5.jsonl", "bounce-pool6.jsonl", "bounce-pool7.jsonl", "bounce-pool8.jsonl",
                      "bounce-model-train.py",
                      "../../../Sources/DeliveryCore/BounceClassifier+Keywords.swift"]
        var hash = BounceClassifier.fnvOffset
        for name in inputs { hash = BounceClassifier.fnv1a64(try Data(contentsOf: fixtures.appendingPathComponent(name)), from: hash) }
        #expect(hash == BounceClassifier.modelInputChecksum, "retrain: python3 Tests/DeliveryCoreTests/Fixtures/bounce-model-train.py > Sources/DeliveryCore/BounceClassifier+Model.swift")
    }

    @Test("the model tables decode: ascending distinct feature hashes, one weight per class and feature plus the bias row, every class once")
    func tablesDecode() {
        let model = BounceClassifier.learnedModel
        #expect(model.hashes.count > 1000)
        #expect(zip(model.hashes, model.hashes.dropFirst()).allSatisfy { $0 < $1 })
        #expect(model.weights.count == (model.hashes.count + 1) * model.classes.count)
        #expect(Set(model.classes) == Set(BounceClass.allCases))
        #expect(model.weights.contains { $0 != 0 })
    }

    @Test("features are hashed as the training script hashes them: code features and words of a training reply are in the model")
    func featuresMatchScript() {
        // FNV-1a 64 of "#c550" as Python computes it (bounce-model-train.py fnv64).
        #expect(BounceClassifier.fnv1a64("#c550".utf8) == 0x4a29_11b6_2928_469f)
        #expect(BounceClassifier.learnedModel.index(of: BounceClassifier.fnv1a64("#c550".utf8)) != nil)
        let known = BounceClassifier.modelScores(code: 550, enhancedCode: nil, lowercased: BounceClassifier.lowercasedUTF8("User unknown"))
        // "user", "unknown", "user unknown", "#punkno" and the family words "user", "unknown*" at least.
        #expect(known.knownWords >= 5)
        let unknown = BounceClassifier.modelScores(code: 550, enhancedCode: nil, lowercased: BounceClassifier.lowercasedUTF8("xyzzy qwxv 12345"))
        #expect(unknown.knownWords == 0)
    }
}

@Suite("Bounce classification: replies the learned model decides")
struct BounceClassifierModelPathTests {
    @Test("tuning texts no phrase rule matches get their class from the model, one per class family, with the usual hardness",
          arguments: [
              ("account is exceeding their quota", BounceClass.mailboxFull, BounceHardness.soft),
              ("too many smtp sessions for this host", .rateLimited, .hard),
              ("message filtered", .spamContent, .hard),
              ("has been delayed", .timeout, .hard),
              ("sender ip reverse lookup rejected", .authFailure, .hard),
          ])
    func modelDecides(text: String, expected: BounceClass, hardness: BounceHardness) {
        let result = BounceClassifier().classify(code: 550, enhancedCode: nil, text: text)
        #expect(result == BounceClassification(expected, hardness, rule: "model-" + expected.rawValue), "\(text)")
    }

    @Test("the model never gives an address class to a security or policy reply, and such a reply never suppresses")
    func modelKeepsSecurityRule() {
        let result = BounceClassifier().classify(code: 550, enhancedCode: EnhancedStatusCode(5, 7, 1), text: "mailbox unknown, no such user account here")
        #expect(result.bounceClass != .badMailbox && result.bounceClass != .badDomain)
        #expect(!result.suppressesRecipient)
    }
}
