import Registry
import SMTPCore

extension SMTPServer {
    /// The header a trusted platform credential names a message's tenant in; removed from every
    /// message before it is queued (and signed), whoever sent it.
    static let tenantHeader = "X-Sendarix-Tenant"

    /// Applies the API-managed credential that authenticated the session to one message: refused
    /// when the credential was revoked or suspended since the login, or when the envelope sender
    /// or From domain is not among its allowed sender domains. A platform credential may name the
    /// message's tenant (header `X-Sendarix-Tenant`, else a `+TENANT` subaddress of the envelope
    /// sender: `bounces+acme@platform.example`); the tenant must exist. Returns the envelope and
    /// message to queue, or the reason to refuse (`550 5.7.1`). One LMDB read; any thread.
    func credentialGate(_ envelope: SMTPSession.Envelope, _ message: [UInt8]) -> (SMTPSession.Envelope, [UInt8], String?) {
        let (named, stripped) = MessageHeaders.removing(Self.tenantHeader, from: message)
        var envelope = envelope
        guard let user = envelope.authenticatedUser, !user.hasPrefix("oauth:"), !authenticator.isConfigUser(user),
              let credentials = authenticator.credentials else { return (envelope, stripped, nil) }
        guard let c = credentials.record(user) else { return (envelope, stripped, "credential \(user) was revoked") }
        if c.state == .suspended { return (envelope, stripped, "credential \(user) is suspended: \(c.stateReason)") }
        let sender = envelope.mailFrom?.address ?? ""
        if !c.allowedSenderDomains.isEmpty {
            let envelopeDomain = SendingDomains.domain(ofAddress: sender)
            if !envelopeDomain.isEmpty && !c.allowsSender(domain: envelopeDomain) {
                return (envelope, stripped, "envelope sender domain \(envelopeDomain) is not allowed for credential \(user)")
            }
            let from = MessageHeaders.value(of: "From", in: stripped).flatMap(SendingDomains.addressDomain(inHeader:))
            guard let from, c.allowsSender(domain: from) else {
                return (envelope, stripped, "From domain \(from ?? "(none)") is not allowed for credential \(user)")
            }
        }
        guard c.isPlatform, let tenant = named.flatMap({ $0.isEmpty ? nil : $0 }) ?? Self.subaddressTenant(sender) else {
            return (envelope, stripped, nil)
        }
        guard (try? credentials.store.registryRecord(RegistryKeys.tenant(tenant)))??.tenant != nil else {
            return (envelope, stripped, "unknown tenant \(tenant)")
        }
        envelope.tenant = tenant
        return (envelope, stripped, nil)
    }

    /// `acme` for `bounces+acme@platform.example`; nil without a subaddress.
    static func subaddressTenant(_ address: String) -> String? {
        guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")), let plus = address[..<at].firstIndex(of: "+") else { return nil }
        let tag = address[address.index(after: plus)..<at]
        return tag.isEmpty ? nil : String(tag)
    }
}
