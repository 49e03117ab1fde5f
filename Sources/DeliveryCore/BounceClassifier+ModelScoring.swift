import SendarixSupport

extension BounceClassifier {
    /// The learned model of `BounceClassifier+Model.swift` decoded once: feature hashes (ascending) and
    /// their Int16 class weights, then the bias row. Immutable after first use; any thread.
    struct LearnedModel: Sendable {
        /// FNV-1a 64 of each feature's UTF-8 bytes, ascending.
        let hashes: [UInt64]
        /// `classes.count` weights per feature in hash order, then the bias row.
        let weights: [Int16]
        /// The classes, in weight order.
        let classes: [BounceClass]

        /// Decodes the generated hex tables. Pure.
        init(hashesHex: String, weightsHex: String, classes: [BounceClass]) {
            self.classes = classes
            hashes = Self.decode(hashesHex, digits: 16).map { $0 }
            weights = Self.decode(weightsHex, digits: 4).map { Int16(truncatingIfNeeded: $0) }
        }

        /// Fixed-width big-endian hex numbers. Pure.
        private static func decode(_ hex: String, digits: Int) -> [UInt64] {
            var values: [UInt64] = []
            values.reserveCapacity(hex.utf8.count / digits)
            var value: UInt64 = 0
            var count = 0
            for byte in hex.utf8 {
                let nibble = byte <= 57 ? byte &- 48 : byte &- 87
                value = value << 4 | UInt64(nibble)
                count += 1
                if count == digits {
                    values.append(value)
                    value = 0
                    count = 0
                }
            }
            return values
        }

        /// The index of `hash` among the features, or nil. Pure.
        func index(of hash: UInt64) -> Int? {
            var low = 0
            var high = hashes.count
            while low < high {
                let middle = (low + high) / 2
                if hashes[middle] < hash { low = middle + 1 } else { high = middle }
            }
            return low < hashes.count && hashes[low] == hash ? low : nil
        }
    }

    /// The model generated from the tuning data (see `BounceClassifier+Model.swift`).
    static let learnedModel = LearnedModel(hashesHex: modelHashesHex, weightsHex: modelWeightsHex, classes: modelClasses)

    /// One word of `keywordFamilies` as the model uses it: the bytes to match (a trailing `*` in the table
    /// matches every word starting with the rest), the hash of its feature `#w<word>`, and the classes whose
    /// family lists it with their weights (the model's fixed prior, `modelFamilyWeight` per point).
    struct ModelKeyword: Sendable {
        let bytes: [UInt8]
        let isPrefix: Bool
        let hash: UInt64
        let points: [(column: Int, weight: Int32)]
    }

    /// The words of `keywordFamilies`, each once.
    static let modelKeywords: [ModelKeyword] = {
        var points: [String: [(column: Int, weight: Int32)]] = [:]
        for (bounceClass, keywords) in keywordFamilies {
            guard let column = modelClasses.firstIndex(of: bounceClass) else { continue }
            for keyword in keywords { points[keyword.word, default: []].append((column, Int32(keyword.weight))) }
        }
        return points.keys.sorted().map { word in
            let isPrefix = word.hasSuffix("*")
            return ModelKeyword(bytes: Array((isPrefix ? String(word.dropLast()) : word).utf8), isPrefix: isPrefix,
                                hash: fnv1a64(("#w" + word).utf8), points: points[word]!)
        }
    }()

    /// FNV-1a 64 offset basis and prime, as the training script hashes features.
    static let fnvOffset = FNV1a64.offsetBasis
    static let fnvPrime = FNV1a64.prime

    /// FNV-1a 64 of `bytes`, continuing from `hash`. Pure; any caller.
    static func fnv1a64<Bytes: Sequence>(_ bytes: Bytes, from hash: UInt64 = fnvOffset) -> UInt64 where Bytes.Element == UInt8 {
        var h = FNV1a64(value: hash)
        h.add(bytes)
        return h.value
    }

    /// The learned model's class scores for a reply (in 1/`modelScale` units, bias included), and how many
    /// of its word features the model knows (a word of `keywordFamilies` always counts: the families are the
    /// model's prior, so a reply in words no training reply held, e.g. "la casilla está llena", still gets their class). Features as in the training script: words of the lowercased
    /// text (runs of ASCII letters/digits and non-ASCII bytes, two bytes or more, not all digits), pairs of
    /// adjacent words, the first `modelPrefixLength` bytes of longer words (`#p<prefix>`), the
    /// `keywordFamilies` words they match (`#w<word>`), and the code features `#c<code>`, `#k<class>`,
    /// `#e<subject>.<detail>`, `#s<subject>`; each counted once. The word families' class scores are added
    /// too, `modelFamilyWeight` per point (a fixed prior the learned weights correct). Pure; any caller.
    static func modelScores(code: Int, enhancedCode: EnhancedStatusCode?, lowercased: [UInt8]) -> (scores: [Int32], knownWords: Int) {
        let model = learnedModel
        let classCount = model.classes.count
        var scores = [Int32](repeating: 0, count: classCount)
        let biasRow = model.hashes.count * classCount
        for column in 0..<classCount { scores[column] = Int32(model.weights[biasRow + column]) }
        var seen = [UInt64](repeating: 0, count: (model.hashes.count + 63) / 64)
        var knownWords = 0
        var matchedKeywords = [Bool](repeating: false, count: modelKeywords.count)
        func add(_ hash: UInt64, isWord: Bool) {
            guard let index = model.index(of: hash), seen[index / 64] & (1 << UInt64(index % 64)) == 0 else { return }
            seen[index / 64] |= 1 << UInt64(index % 64)
            if isWord { knownWords += 1 }
            let row = index * classCount
            for column in 0..<classCount { scores[column] += Int32(model.weights[row + column]) }
        }
        lowercased.withUnsafeBufferPointer { bytes in
            var previous: UInt64?
            var start = 0
            while start < bytes.count {
                guard BounceClassifier.isWordByte(bytes[start]) else { start += 1; continue }
                var end = start
                var allDigits = true
                while end < bytes.count, BounceClassifier.isWordByte(bytes[end]) {
                    if bytes[end] &- 48 >= 10 { allDigits = false }
                    end += 1
                }
                if end - start >= 2, !allDigits {
                    let word = UnsafeBufferPointer(rebasing: bytes[start..<end])
                    let hash = fnv1a64(word)
                    add(hash, isWord: true)
                    if end - start > modelPrefixLength {
                        add(fnv1a64(word.prefix(modelPrefixLength), from: fnv1a64("#p".utf8)), isWord: true)
                    }
                    for (position, keyword) in modelKeywords.enumerated() where !matchedKeywords[position]
                        && (keyword.isPrefix ? word.starts(with: keyword.bytes) : word.elementsEqual(keyword.bytes)) {
                        matchedKeywords[position] = true
                        // A family word is known even when no training reply held it: the families are the prior.
                        knownWords += 1
                        add(keyword.hash, isWord: false)
                        for point in keyword.points { scores[point.column] += modelFamilyWeight * point.weight }
                    }
                    if let previous { add(fnv1a64(word, from: (previous ^ 0x20) &* fnvPrime), isWord: true) }
                    previous = hash
                }
                start = end
            }
        }
        add(fnv1a64("#c\(code)".utf8), isWord: false)
        add(fnv1a64("#k\(code / 100)".utf8), isWord: false)
        if let enhancedCode {
            add(fnv1a64("#e\(enhancedCode.subject).\(enhancedCode.detail)".utf8), isWord: false)
            add(fnv1a64("#s\(enhancedCode.subject)".utf8), isWord: false)
        }
        return (scores, knownWords)
    }

    /// True for the bytes words are made of: ASCII lowercase letters, digits and non-ASCII bytes.
    static func isWordByte(_ byte: UInt8) -> Bool {
        byte &- 97 < 26 || byte &- 48 < 10 || byte >= 0x80
    }

    /// The class the learned model gives a reply, or nil when it knows none of the reply's words (then the
    /// codes alone decide, as before). Address classes are never returned for security or policy codes
    /// (X.7.X): the best other class is taken. Pure; any caller.
    static func modelClass(code: Int, enhancedCode: EnhancedStatusCode?, lowercased: [UInt8], securityOrPolicy: Bool) -> BounceClass? {
        let (scores, knownWords) = modelScores(code: code, enhancedCode: enhancedCode, lowercased: lowercased)
        guard knownWords > 0 else { return nil }
        var best: (BounceClass, Int32)?
        for (column, bounceClass) in learnedModel.classes.enumerated() {
            if securityOrPolicy, bounceClass == .badMailbox || bounceClass == .badDomain { continue }
            if best == nil || scores[column] > best!.1 { best = (bounceClass, scores[column]) }
        }
        return best?.0
    }
}
