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
        switch decide(envelope, message) {
        case .refuse(let reason): return .refuse(reason)
        case .store: return .store(message)
        case .sign(let job): return .store(sign(job))
        }
    }

    /// What acceptance needs, decided cheaply (a header scan and cached registry reads): refuse,
    /// store as it is, or sign (the expensive part, for `sign`). Any thread.
    enum Decision {
        case refuse(String)
        case store
        case sign(SigningJob)
    }

    /// A message to sign and who signs it.
    struct SigningJob: @unchecked Sendable {
        // Safe: immutable values; `SigningKey` is itself safe to share.
        var queueID: String
        var message: DKIMMessage
        var domain: String
        var identities: [DKIMSigner.Identity]
    }

    func decide(_ envelope: SMTPSession.Envelope, _ message: [UInt8]) -> Decision {
        let parsed = DKIMMessage(message)
        let fromDomain = parsed.lastValue(of: "from").flatMap(Self.addressDomain(inHeader:))
        if envelope.authenticatedUser != nil {
            let tenant = envelope.tenant ?? ""
            let envelopeDomain = envelope.mailFrom.map { Self.domain(ofAddress: $0.address) }
            if let reason = policyRefusal(tenant: tenant, envelopeDomain: envelopeDomain, fromDomain: fromDomain) {
                return .refuse(reason)
            }
        }
        guard let fromDomain, let (domain, identities) = identities(forFromDomain: fromDomain) else { return .store }
        return .sign(SigningJob(queueID: envelope.queueID, message: parsed, domain: domain.name, identities: identities))
    }

    /// The message with its DKIM-Signature fields prepended; unsigned (and logged) when signing
    /// fails, never lost. Blocks for the key operations; any thread.
    func sign(_ job: SigningJob) -> [UInt8] {
        do {
            let signatures = try DKIMSigner().sign(job.message, with: job.identities, timestamp: WallClock.nowMillis() / 1000)
            return signatures + job.message.bytes
        } catch {
            logger.log(.error, "dkim.sign_failed", ["domain": job.domain, "queueId": job.queueID, "error": "\(error)"])
            return job.message.bytes
        }
    }

    /// The domain of the (last) address in a From header value: `Name <a@b.example>` or
    /// `a@b.example`, lower-cased; nil when there is none.
    static func addressDomain(inHeader value: String) -> String? {
        // Runs for every accepted message. ASCII text (nearly every From) is scanned as bytes:
        // there every character is one byte (CR LF aside, which is no delimiter here), so the
        // answer is the same as the character scan below, which keeps the other text.
        if let ascii = value.utf8.withContiguousStorageIfAvailable({ asciiAddressDomain($0) }), let answer = ascii {
            return answer
        }
        var text = Substring(value)
        if let open = text.lastIndex(of: "<"), let close = text[open...].firstIndex(of: ">") {
            text = text[text.index(after: open)..<close]
        }
        guard let at = text.utf8.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        let domain = text[text.utf8.index(after: at)...].prefix { $0 != ">" && $0 != " " && $0 != "," && $0 != ";" && $0 != ")" }
        return domain.isEmpty ? nil : domain.lowercased()
    }

    /// `addressDomain` on ASCII bytes: nil when `bytes` are not all ASCII (the caller then scans
    /// characters), else the answer (`.some(nil)`: no domain).
    static func asciiAddressDomain(_ bytes: UnsafeBufferPointer<UInt8>) -> String?? {
        var start = 0, end = bytes.count
        for b in bytes where b >= 0x80 { return nil }
        if let open = bytes.lastIndex(of: UInt8(ascii: "<")),
           let close = bytes[open...].firstIndex(of: UInt8(ascii: ">")) {
            start = open + 1
            end = close
        }
        guard let at = bytes[start..<end].lastIndex(of: UInt8(ascii: "@")) else { return .some(nil) }
        var stop = at + 1
        while stop < end {
            let b = bytes[stop]
            if b == UInt8(ascii: ">") || b == UInt8(ascii: " ") || b == UInt8(ascii: ",") || b == UInt8(ascii: ";")
                || b == UInt8(ascii: ")") { break }
            stop += 1
        }
        let domain = bytes[(at + 1)..<stop]
        guard !domain.isEmpty else { return .some(nil) }
        return .some(String(unsafeUninitializedCapacity: domain.count) { out in
            for (i, b) in domain.enumerated() { out[i] = b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
            return domain.count
        })
    }

    /// The domain part of an envelope address (empty for the null sender).
    static func domain(ofAddress address: String) -> String {
        guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")) else { return "" }
        return address[address.utf8.index(after: at)...].lowercased()
    }
}
