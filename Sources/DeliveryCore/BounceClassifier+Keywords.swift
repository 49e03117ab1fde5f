extension BounceClassifier {
    /// One word (or word prefix, written with a trailing `*`) that speaks for a class, and how much.
    public struct Keyword: Sendable {
        /// The lowercase word; a trailing `*` matches every word starting with the rest.
        public var word: String
        /// Points the word adds to its class.
        public var weight: Int

        /// Creates a keyword. `word` must be lowercase. Pure; any caller.
        public init(_ word: String, _ weight: Int) {
            self.word = word
            self.weight = weight
        }

        /// True when `token` (a lowercase word) is this keyword. Pure; any caller.
        public func matches(_ token: Substring) -> Bool {
            if word.hasSuffix("*") { return token.hasPrefix(word.dropLast()) }
            return token == word
        }
    }

    /// Word families per class: the learned model's fixed prior (each point adds `modelFamilyWeight` to its
    /// class) and, word by word, features whose weights it learns (`BounceClassifier+ModelScoring.swift`).
    /// The training script reads this table, so a change here needs a retrained model. Pure constant; any caller.
    ///
    /// The reply text is cut into words (letters, digits and non-ASCII bytes); each class scores the
    /// sum of its keywords' weights, each keyword counted once.
    public static let keywordFamilies: [(BounceClass, [Keyword])] = [
        (.authFailure, [Keyword("spf", 4), Keyword("dkim", 4), Keyword("dmarc", 4), Keyword("ptr", 3), Keyword("rdns", 4),
                        Keyword("reverse", 3), Keyword("hostname", 2), Keyword("authenticat*", 2), Keyword("autenticat*", 2)]),
        (.tlsFailure, [Keyword("tls", 4), Keyword("starttls", 4), Keyword("ssl", 3), Keyword("encrypt*", 3), Keyword("certificate*", 3)]),
        (.greylisted, [Keyword("greylist*", 4), Keyword("graylist*", 4)]),
        (.reputationBlock, [Keyword("reputation", 4), Keyword("blacklist*", 3), Keyword("blocklist*", 3), Keyword("rbl", 4),
                            Keyword("dnsbl", 4), Keyword("spamhaus", 4), Keyword("spamcop", 4), Keyword("barracudacentral", 4),
                            Keyword("abuseat", 4), Keyword("proxy", 3), Keyword("zombie*", 3), Keyword("refused", 1), Keyword("blocked", 2), Keyword("block", 1), Keyword("listed", 2), Keyword("ip", 1)]),
        (.spamContent, [Keyword("spam", 4), Keyword("спам", 4), Keyword("spamassassin", 4), Keyword("antispam", 4), Keyword("virus*", 4),
                        Keyword("malware", 4), Keyword("phish*", 4), Keyword("unsolicited", 4), Keyword("junk", 3),
                        Keyword("infected", 3), Keyword("malicious", 3), Keyword("bulk", 2), Keyword("content", 2),
                        Keyword("filter*", 2), Keyword("score*", 2), Keyword("suspicious", 2), Keyword("probability", 2),
                        Keyword("advertising", 2)]),
        (.rateLimited, [Keyword("rate", 3), Keyword("frequency", 3), Keyword("throttl*", 4), Keyword("concurrent", 3),
                        Keyword("connections", 2), Keyword("sessions", 2), Keyword("many", 2), Keyword("volume", 2),
                        Keyword("hour", 2), Keyword("excessive", 2), Keyword("threshold", 2), Keyword("limited", 2)]),
        (.mailboxFull, [Keyword("quota", 4), Keyword("full", 3), Keyword("space", 3), Keyword("storage", 3), Keyword("disk", 2),
                        Keyword("diskspace", 3), Keyword("userdisk", 3), Keyword("domaindisk", 3), Keyword("pleine", 3),
                        // "full" and "too many" in German, French, Spanish, Italian, Portuguese, Polish, Dutch
                        Keyword("voll", 3), Keyword("zuviele", 3), Keyword("speicherplatz", 3), Keyword("plein", 3),
                        Keyword("lleno", 3), Keyword("llena", 3), Keyword("pieno", 3), Keyword("piena", 3), Keyword("cheio", 3),
                        Keyword("cheia", 3), Keyword("pełna", 3), Keyword("przepełniona", 3), Keyword("vol", 2),
                        // "full", "overfilled" in Russian, German, French
                        Keyword("переполнен*", 3), Keyword("заполнен*", 3), Keyword("überfüllt", 3), Keyword("saturé*", 3),
                        Keyword("exceed*", 2), Keyword("mailbox", 1)]),
        (.messageTooLarge, [Keyword("size", 2), Keyword("large", 3), Keyword("big", 2), Keyword("length", 2), Keyword("taille", 3)]),
        // A domain or host word alone does not make a bad domain: it takes a word of absence too
        // (shared with bad-mailbox, which wins ties only when no domain word is present).
        (.badDomain, [Keyword("domain", 1), Keyword("host", 1), Keyword("mx", 3), Keyword("nullmx", 4), Keyword("unrout*", 4),
                      Keyword("route", 2), Keyword("exchanger", 3), Keyword("exist*", 2), Keyword("nonexist*", 2),
                      Keyword("existe", 2), Keyword("unknown", 2), Keyword("found", 1), Keyword("find", 1),
                      Keyword("существует", 2), Keyword("домен*", 1)]),
        (.badMailbox, [Keyword("unknown*", 2), Keyword("exist*", 3), Keyword("nonexist*", 3), Keyword("existe", 3),
                       Keyword("suspend*", 3), Keyword("disabl*", 3), Keyword("inactive", 3), Keyword("locked", 2),
                       Keyword("frozen", 3), Keyword("invalid", 1), Keyword("inconnu", 3), Keyword("utilisateur", 2),
                       Keyword("utente", 2), Keyword("usuario", 2), Keyword("persona", 2),
                       // "unknown", "does not exist", "inactive", "recipient", "account", "such" in German, French,
                       // Spanish, Italian, Portuguese, Polish, Dutch
                       Keyword("unbekannt", 3), Keyword("existiert", 2), Keyword("deaktiviert", 3), Keyword("gesperrt", 2),
                       Keyword("benutzer", 2), Keyword("empfänger", 2), Keyword("adressat", 2), Keyword("inexistant", 3),
                       Keyword("introuvable", 3), Keyword("désactivé", 3), Keyword("desconocido", 3), Keyword("inexistente", 3),
                       Keyword("inesistente", 3), Keyword("sconosciuto", 3), Keyword("desconhecido", 3), Keyword("destinatario", 2),
                       Keyword("destinatário", 2), Keyword("istnieje", 3),
                       // "does not exist", "unknown", "user", "recipient" in Russian
                       Keyword("существует", 3), Keyword("неизвестн*", 3), Keyword("пользовател*", 2), Keyword("получател*", 2), Keyword("nieaktywne", 3), Keyword("takiego", 2),
                       Keyword("konto", 1), Keyword("konta", 1), Keyword("onbekend", 3), Keyword("bestaat", 2), Keyword("user", 2), Keyword("userid", 2),
                       Keyword("recipient*", 2), Keyword("mailbox", 1), Keyword("account", 1), Keyword("address*", 1),
                       Keyword("directory", 2), Keyword("directorio", 2), Keyword("annuaire", 2),
                       Keyword("verzeichnis", 2), Keyword("ディレクトリ*", 2), Keyword("found", 1), Keyword("find", 1), Keyword("undeliverable", 1),
                       Keyword("such", 2), Keyword("person", 2), Keyword("unavailable", 1)]),
        (.timeout, [Keyword("expired", 4), Keyword("expire*", 3), Keyword("timed", 3), Keyword("timeout", 4), Keyword("delay*", 3),
                    Keyword("queue", 1), Keyword("retry", 2), Keyword("reachable", 2), Keyword("failing", 2), Keyword("days", 2),
                    Keyword("period", 1)]),
        (.dnsFailure, [Keyword("servfail", 4), Keyword("resolv*", 2)]),
        (.policy, [Keyword("relay*", 4), Keyword("policy", 3), Keyword("policies", 3), Keyword("prohibit*", 3), Keyword("denied", 2),
                   Keyword("deny", 2), Keyword("sender", 2), Keyword("allowed", 2), Keyword("permitted", 2), Keyword("authorized", 2),
                   Keyword("forbidden", 2), Keyword("batv", 4), Keyword("rfc", 1), Keyword("compliant", 2), Keyword("header", 1),
                   Keyword("refused", 1), Keyword("rejected", 1), Keyword("verify", 1), Keyword("verified", 1), Keyword("gateway", 2),
                   Keyword("organization*", 2), Keyword("approved", 2), Keyword("subscri*", 2), Keyword("mailing", 2)]),
        (.other, [Keyword("loop*", 4), Keyword("configuration", 3), Keyword("misconfigured", 3), Keyword("error", 1),
                  Keyword("internal", 2), Keyword("interrupted", 3), Keyword("pipe", 2), Keyword("file", 2), Keyword("lmtp", 2)]),
    ]

    /// Lowercase words of `text`: runs of ASCII letters and digits and non-ASCII bytes. Pure; any caller.
    public static func words(_ text: String) -> [Substring] {
        text.lowercased().split { $0.isASCII && !($0.isLetter || $0.isNumber) }
    }

    /// The keyword score of each class for `text` (classes that score nothing are left out), in the
    /// order of `keywordFamilies`. Pure; any caller.
    public static func keywordScores(_ text: String) -> [(BounceClass, Int)] {
        let tokens = words(text)
        var scores: [(BounceClass, Int)] = []
        for (bounceClass, keywords) in keywordFamilies {
            let score = keywords.reduce(0) { sum, keyword in
                tokens.contains(where: keyword.matches) ? sum + keyword.weight : sum
            }
            if score > 0 { scores.append((bounceClass, score)) }
        }
        return scores
    }
}
