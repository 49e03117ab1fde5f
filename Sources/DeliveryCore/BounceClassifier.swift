#if canImport(Glibc)
import Glibc
#endif

/// Classifies delivery failures (SMTP replies and local failures) into a `BounceClass` and a
/// hard/soft verdict, using an ordered table of rules covering Gmail, Microsoft (Outlook.com,
/// Microsoft 365), Yahoo/AOL and generic Postfix/Exim/Sendmail receivers. The first matching phrase
/// rule wins; when none matches, a learned model (logistic regression over words, word pairs and the
/// codes, trained offline on the tuning part of the corpus; `BounceClassifier+Model.swift`) decides
/// when it knows a word of the reply, else the class the enhanced code (or else the reply code) gives.
///
/// Hardness follows the reply class (5xx hard, 4xx soft) unless a rule overrides it: mailbox-full
/// is always soft (RFC 5321 4.5.3.1.10 lets 552 on storage be treated as transient) and Yahoo's
/// `[TS03]` "permanently deferred" is hard despite its 4xx code.
///
/// Pure value; `classify` allocates one lowercased copy of the reply text. Any thread may call it.
public struct BounceClassifier: Sendable {
    /// A pattern over the enhanced status code, ignoring its class: subject and a detail range.
    public struct EnhancedPattern: Sendable {
        /// The subject to match (e.g. 1 for addressing).
        public var subject: Int
        /// The details to match.
        public var details: ClosedRange<Int>

        /// Matches `x.subject.detail` for details in `details`. Pure; any caller.
        public init(_ subject: Int, _ details: ClosedRange<Int>) {
            self.subject = subject
            self.details = details
        }

        /// Matches exactly `x.subject.detail`. Pure; any caller.
        public init(_ subject: Int, _ detail: Int) {
            self.init(subject, detail...detail)
        }

        /// True when `code` matches. Pure; any caller.
        public func matches(_ code: EnhancedStatusCode) -> Bool {
            code.subject == subject && details.contains(code.detail)
        }
    }

    /// One classification rule. All given conditions must hold: the reply code is in `codes`,
    /// the enhanced code matches one of `enhanced` (when non-empty), and for every group in
    /// `text` the lowercased reply text contains at least one of the group's phrases.
    public struct Rule: Sendable {
        /// Rule name, reported in `BounceClassification.rule`.
        public var name: String
        /// Reply codes this rule applies to.
        public var codes: ClosedRange<Int>
        /// Enhanced code patterns (any of); empty means "any or none".
        public var enhanced: [EnhancedPattern]
        /// Conjunction of disjunctions of lowercase phrases; empty means "any text".
        public var text: [[String]] {
            didSet { textBytes = text.map { $0.map { Array($0.utf8) } } }
        }
        /// The class assigned on a match.
        public var bounceClass: BounceClass
        /// Forced hardness, or nil to derive it from the reply code.
        public var hardness: BounceHardness?
        /// A fallback on the codes alone: tried only after the phrase rules and the keyword families,
        /// and its class is the prior the keywords must outweigh.
        public var isFallback: Bool
        private var textBytes: [[[UInt8]]]

        /// Creates a rule. Phrases must be lowercase. Pure; any caller.
        public init(_ name: String, codes: ClosedRange<Int> = 400...599, enhanced: [EnhancedPattern] = [],
                    text: [[String]] = [], _ bounceClass: BounceClass, hardness: BounceHardness? = nil, isFallback: Bool = false) {
            self.name = name
            self.isFallback = isFallback
            self.codes = codes
            self.enhanced = enhanced
            self.text = text
            self.textBytes = text.map { $0.map { Array($0.utf8) } }
            self.bounceClass = bounceClass
            self.hardness = hardness
        }

        /// True when the rule applies. `lowercased` must be the reply text as UTF-8 with ASCII
        /// letters lowercased (see `BounceClassifier.lowercasedUTF8`). Pure; any caller.
        public func matches(code: Int, enhancedCode: EnhancedStatusCode?, lowercased: [UInt8]) -> Bool {
            guard codes.contains(code) else { return false }
            if !enhanced.isEmpty {
                guard let enhancedCode, enhanced.contains(where: { $0.matches(enhancedCode) }) else { return false }
            }
            if textBytes.isEmpty { return true }
            return lowercased.withUnsafeBufferPointer { haystack in
                textBytes.allSatisfy { group in group.contains { BounceClassifier.contains(haystack, $0) } }
            }
        }
    }

    /// A failure detected locally, before or instead of a server reply.
    public enum LocalFailure: String, Sendable, Hashable, CaseIterable {
        /// TCP connect was refused.
        case connectionRefused = "connection-refused"
        /// TCP connect did not complete in time.
        case connectionTimeout = "connection-timeout"
        /// The server did not reply in time.
        case replyTimeout = "reply-timeout"
        /// The connection closed or reset unexpectedly.
        case connectionLost = "connection-lost"
        /// The resolver failed temporarily (SERVFAIL, timeout).
        case dnsTemporaryFailure = "dns-temporary-failure"
        /// The recipient domain does not exist (NXDOMAIN).
        case domainNotFound = "domain-not-found"
        /// The recipient domain has neither MX nor address records.
        case noMailServers = "no-mail-servers"
        /// The recipient domain publishes a null MX (RFC 7505).
        case nullMX = "null-mx"
        /// The TLS handshake failed.
        case tlsHandshakeFailed = "tls-handshake-failed"
        /// The server certificate did not verify (policy `verify`).
        case tlsVerificationFailed = "tls-verification-failed"
        /// TLS was required but the server did not offer STARTTLS.
        case tlsNotOffered = "tls-not-offered"
        /// The message stayed in the queue longer than its lifetime.
        case queueLifetimeExpired = "queue-lifetime-expired"
    }

    /// The rules, in evaluation order.
    public var rules: [Rule]

    /// Creates a classifier with `rules` (defaults to `BounceClassifier.standardRules`). Pure.
    public init(rules: [Rule] = BounceClassifier.standardRules) {
        self.rules = rules
    }

    /// Classifies a server reply. 2xx/3xx replies are not failures and classify as `other`/soft
    /// with rule "not-a-failure". Pure; any caller.
    public func classify(_ reply: SMTPReply) -> BounceClassification {
        classify(code: reply.code, enhancedCode: reply.enhancedCode, text: reply.text)
    }

    /// Classifies a failure given as code, optional enhanced code and text. Pure; any caller.
    public func classify(code: Int, enhancedCode: EnhancedStatusCode?, text: String) -> BounceClassification {
        guard code >= 400 else { return BounceClassification(.other, .soft, rule: "not-a-failure") }
        let byCode: BounceHardness = code >= 500 ? .hard : .soft
        let lowercased = BounceClassifier.lowercasedUTF8(text)
        let enhancedCode = enhancedCode ?? BounceClassifier.embeddedEnhancedCode(in: lowercased, replyCode: code)
        // Security or policy replies (X.7.X) are about the sender, the content or the connection,
        // never about the recipient address: rules for address classes do not apply to them.
        let securityOrPolicy = enhancedCode?.subject == 7
        func applies(_ rule: Rule) -> Bool {
            if securityOrPolicy, rule.bounceClass == .badMailbox || rule.bounceClass == .badDomain { return false }
            return rule.matches(code: code, enhancedCode: enhancedCode, lowercased: lowercased)
        }
        // 1. Phrase rules, most specific first.
        for rule in rules where !rule.isFallback && applies(rule) {
            return BounceClassification(rule.bounceClass, rule.hardness ?? byCode, rule: rule.name)
        }
        // 2. The learned model (words, word pairs and codes, weights trained on the tuning data;
        //    `BounceClassifier+Model.swift`) when it knows a word of the reply; 3. the class the codes give.
        let fallback = rules.first { $0.isFallback && applies($0) }
        if let modelClass = BounceClassifier.modelClass(code: code, enhancedCode: enhancedCode, lowercased: lowercased,
                                                       securityOrPolicy: securityOrPolicy),
           modelClass != fallback?.bounceClass {
            let hardness: BounceHardness = modelClass == .mailboxFull ? .soft : byCode
            return BounceClassification(modelClass, hardness, rule: "model-" + modelClass.rawValue)
        }
        if let fallback { return BounceClassification(fallback.bounceClass, fallback.hardness ?? byCode, rule: fallback.name) }
        return BounceClassification(.other, byCode, rule: "fallback-code")
    }

    /// Classifies a local failure. Pure; any caller.
    public func classify(_ failure: LocalFailure) -> BounceClassification {
        let rule = "local-" + failure.rawValue
        switch failure {
        case .connectionRefused, .connectionTimeout, .replyTimeout, .connectionLost:
            return BounceClassification(.timeout, .soft, rule: rule)
        case .dnsTemporaryFailure:
            return BounceClassification(.dnsFailure, .soft, rule: rule)
        case .domainNotFound, .noMailServers, .nullMX:
            return BounceClassification(.badDomain, .hard, rule: rule)
        case .tlsHandshakeFailed, .tlsVerificationFailed, .tlsNotOffered:
            return BounceClassification(.tlsFailure, .soft, rule: rule)
        case .queueLifetimeExpired:
            return BounceClassification(.timeout, .hard, rule: rule)
        }
    }

    /// `text` as UTF-8 with ASCII letters lowercased (non-ASCII bytes unchanged). Pure; any caller.
    public static func lowercasedUTF8(_ text: String) -> [UInt8] {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices where buffer[index] &- 65 < 26 { buffer[index] |= 0x20 }
        }
        return bytes
    }

    /// Byte substring search: `memchr` finds each candidate first byte, `memcmp` checks the rest (both
    /// vectorized in libc and, in fuzzing builds, not instrumented per byte). Pure; any caller.
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard let base = haystack.baseAddress, haystack.count >= needle.count else { return false }
        return needle.withUnsafeBufferPointer { needle in
            let first = Int32(needle[0])
            let rest = needle.count - 1
            var index = 0
            let last = haystack.count - needle.count
            while index <= last {
                guard let hit = memchr(base + index, first, last - index + 1) else { return false }
                let offset = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if rest == 0 || memcmp(base + offset + 1, needle.baseAddress! + 1, rest) == 0 { return true }
                index = offset + 1
            }
            return false
        }
    }

    /// A reply describing a local failure, for events and DSNs (code, enhanced code, text in the
    /// style of Postfix). Pure; any caller.
    public static func syntheticReply(for failure: LocalFailure, host: String = "") -> SMTPReply {
        let subject = host.isEmpty ? "" : host + ": "
        switch failure {
        case .connectionRefused: return SMTPReply(451, EnhancedStatusCode(4, 4, 1), "\(subject)connect: Connection refused")
        case .connectionTimeout: return SMTPReply(451, EnhancedStatusCode(4, 4, 1), "\(subject)connect: Connection timed out")
        case .replyTimeout: return SMTPReply(451, EnhancedStatusCode(4, 4, 2), "\(subject)timed out waiting for the server's reply")
        case .connectionLost: return SMTPReply(451, EnhancedStatusCode(4, 4, 2), "\(subject)lost connection with the server")
        case .dnsTemporaryFailure: return SMTPReply(451, EnhancedStatusCode(4, 4, 3), "\(subject)Host or domain name not found, try again")
        case .domainNotFound: return SMTPReply(550, EnhancedStatusCode(5, 1, 2), "\(subject)Recipient domain does not exist")
        case .noMailServers: return SMTPReply(550, EnhancedStatusCode(5, 4, 4), "\(subject)No mail servers for the recipient domain")
        case .nullMX: return SMTPReply(556, EnhancedStatusCode(5, 1, 10), "\(subject)Recipient address has null MX")
        case .tlsHandshakeFailed: return SMTPReply(454, EnhancedStatusCode(4, 7, 5), "\(subject)TLS handshake failed")
        case .tlsVerificationFailed: return SMTPReply(454, EnhancedStatusCode(4, 7, 5), "\(subject)TLS certificate verification failed")
        case .tlsNotOffered: return SMTPReply(421, EnhancedStatusCode(4, 7, 4), "\(subject)TLS is required, but was not offered by the server")
        case .queueLifetimeExpired: return SMTPReply(554, EnhancedStatusCode(5, 4, 7), "\(subject)Message expired: delivery time exceeded")
        }
    }
}
