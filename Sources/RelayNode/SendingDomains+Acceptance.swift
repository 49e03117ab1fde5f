import DKIM
import SMTPCore
import SendarixSupport

extension SendingDomains {
    /// What to do with a message being accepted.
    enum Acceptance {
        /// Refuse it: `550 5.7.1` with this reason (sender policy).
        case refuse(String)
        /// Store these bytes: the message, with DKIM-Signature fields prepended when its From domain
        /// is verified.
        case store([UInt8])
    }

    /// Applies the sender policy of the message's tenant and signs it (RSA and Ed25519, one
    /// signature each) when its From domain is a verified sending domain. Unauthenticated mail
    /// (trusted networks, the relay port) has no tenant policy and is signed all the same. A
    /// signing failure stores the message unsigned and logs why: mail is never lost to it. Blocks
    /// for the signatures (about 1 ms); any thread.
    func accept(_ envelope: SMTPSession.Envelope, _ message: [UInt8]) -> Acceptance {
        let parsed = DKIMMessage(message)
        let fromDomain = parsed.lastValue(of: "from").flatMap(Self.addressDomain(inHeader:))
        if envelope.authenticatedUser != nil {
            let tenant = envelope.tenant ?? ""
            let envelopeDomain = envelope.mailFrom.map { Self.domain(ofAddress: $0.address) }
            if let reason = policyRefusal(tenant: tenant, envelopeDomain: envelopeDomain, fromDomain: fromDomain) {
                return .refuse(reason)
            }
        }
        guard let fromDomain, let (domain, identities) = identities(forFromDomain: fromDomain) else { return .store(message) }
        do {
            let timestamp = WallClock.nowMillis() / 1000
            let signatures = try DKIMSigner().sign(parsed, with: identities, timestamp: timestamp)
            return .store(signatures + message)
        } catch {
            logger.log(.error, "dkim.sign_failed", ["domain": domain.name, "queueId": envelope.queueID, "error": "\(error)"])
            return .store(message)
        }
    }

    /// The domain of the (last) address in a From header value: `Name <a@b.example>` or
    /// `a@b.example`, lower-cased; nil when there is none.
    static func addressDomain(inHeader value: String) -> String? {
        var text = Substring(value)
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        }
        guard let at = text.lastIndex(of: "@") else { return nil }
        let domain = text[text.index(after: at)...].prefix { $0 != ">" && $0 != " " && $0 != "," && $0 != ";" && $0 != ")" }
        return domain.isEmpty ? nil : domain.lowercased()
    }

    /// The domain part of an envelope address (empty for the null sender).
    static func domain(ofAddress address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return "" }
        return address[address.index(after: at)...].lowercased()
    }
}
