/// Where sisimai's reasons span more than one of this project's classes, by sisimai's own definition
/// of the reason (p5-sisimai v5.1.0 `lib/Sisimai/Reason/*.pm`, DESCRIPTION; cited in
/// Fixtures/README.md, "sisimai's label conventions"). The pool's label (the fixed table's class) stays
/// the first answer; the classes listed here are also counted as agreeing, for every entry of that
/// reason in pool 4, tuning and held-out alike. Fixed table, decided from the definitions, not per text.
enum SisimaiConventions {
    /// sisimai reason → classes that also agree with it (besides the fixed table's class).
    static let alsoAgreeing: [String: Set<String>] = [
        // "SMTP connection was rejected due to a client IP address or a hostname, or the parameter of
        // HELO or EHLO command": a hostname without (matching) PTR is auth-failure here, a refused
        // HELO argument is policy.
        "blocked": ["auth-failure", "policy"],
        // "rejected by the sender's email address (envelope from)": a sender address or domain on a
        // block list is reputation-block here (the class covers a sending domain on a block list).
        "rejected": ["reputation-block"],
        // "the delivery time has expired due to a connection failure or a network error"; sisimai's
        // network errors are "DNS look up failure or other network problems" (NetworkError.pm).
        "expired": ["dns-failure"],
        // "the header content or the format of the original message violates their security
        // policies" (its example: Gmail's "illegal attachment"): a content judged dangerous is
        // spam-content here.
        "policyviolation": ["spam-content"],
        // "rejected by the spam filter which is running on the remote host": a spam filter refusing
        // the sender's IP or domain by a block list is reputation-block here.
        "spamdetected": ["reputation-block"],
    ]

    /// The sisimai reason named in a pool 4 entry's `source` (`… reason "blocked")`), or nil.
    static func reason(ofSource source: String) -> String? {
        guard let start = source.range(of: "reason \"") else { return nil }
        let rest = source[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// The classes that agree with `entry` under the conventions (always holds its own label).
    static func agreeingClasses(_ entry: BounceCorpusEntry) -> Set<String> {
        guard entry.hardness == "any", let reason = reason(ofSource: entry.source) else { return [entry.expectedClass] }
        return alsoAgreeing[reason, default: []].union([entry.expectedClass])
    }
}
