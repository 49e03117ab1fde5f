import SendarixCrypto
import SendarixSupport

/// Signs messages with DKIM (RFC 6376): rsa-sha256 (RFC 8301) and ed25519-sha256 (RFC 8463),
/// relaxed/relaxed by default, the RFC 6376 §5.4.1 header set oversigned (each name listed once
/// more than the message has it, so an added header field breaks the signature), never `l=`.
///
/// Pure apart from the private-key operation; any thread. Signing blocks for the key operation
/// (about 1 ms for RSA-2048) and a SHA-256 pass over the body.
public struct DKIMSigner: Sendable {
    /// One signing identity: the domain (`d=`), selector (`s=`) and its private key.
    public struct Identity: Sendable {
        public var domain: String
        public var selector: String
        public var key: SigningKey

        /// Creates an identity. Any thread.
        public init(domain: String, selector: String, key: SigningKey) {
            self.domain = domain
            self.selector = selector
            self.key = key
        }
    }

    /// Why a message was not signed.
    public struct SigningError: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// Header fields signed when present and, with `oversign`, once more than present (RFC 6376
    /// §5.4.1's recommended set, plus List-Unsubscribe-Post and Feedback-ID).
    public static let defaultHeaders = [
        "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To", "References",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description",
        "Resent-Date", "Resent-From", "Resent-To", "Resent-Cc",
        "List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe", "List-Post",
        "List-Owner", "List-Archive", "Feedback-ID",
    ]

    /// Names that must always be signed, once more than present even without `oversign`.
    static let alwaysOversigned: Set<String> = ["from", "to", "cc", "subject", "date", "reply-to", "message-id"]

    public var headerCanonicalization: DKIMCanonicalization
    public var bodyCanonicalization: DKIMCanonicalization
    /// Header names to sign (case-insensitive).
    public var headers: [String]
    /// List each signed name once more than present (absent names once).
    public var oversign: Bool

    /// A signer with the given choices (defaults: relaxed/relaxed, the default set, oversigned).
    public init(headerCanonicalization: DKIMCanonicalization = .relaxed, bodyCanonicalization: DKIMCanonicalization = .relaxed,
                headers: [String] = DKIMSigner.defaultHeaders, oversign: Bool = true) {
        self.headerCanonicalization = headerCanonicalization
        self.bodyCanonicalization = bodyCanonicalization
        self.headers = headers
        self.oversign = oversign
    }

    /// The `DKIM-Signature` fields for `message`, one per identity in the given order, each
    /// ending in CRLF: prepend them to the message. `timestamp` is `t=` (seconds since the
    /// epoch). Throws when the message has no From field or a key operation fails.
    public func sign(_ message: DKIMMessage, with identities: [Identity], timestamp: Int64) throws -> [UInt8] {
        guard message.count(of: "from") >= 1 else { throw SigningError(reason: "the message has no From header field") }
        let bodyHash = Base64Codec.encode(Digest.sha256(bodyCanonicalization.body(message.body)))
        let names = signedNames(message)
        var out: [UInt8] = []
        for identity in identities {
            let unsigned = signatureField(identity, names: names, bodyHash: bodyHash, timestamp: timestamp)
            let input = Self.signatureInput(message, signedNames: names, signatureField: unsigned,
                                            canonicalization: headerCanonicalization)
            let signature = try Self.sign(input, with: identity.key)
            out.append(contentsOf: unsigned)
            out.append(contentsOf: Self.folded(Base64Codec.encode(signature), first: 3))
            out.append(contentsOf: [0x0D, 0x0A])
        }
        return out
    }

    /// The `h=` list: every configured name present in the message as often as it occurs, plus
    /// one more (or once when absent) when oversigning; lower-case, in configuration order.
    func signedNames(_ message: DKIMMessage) -> [String] {
        var names: [String] = []
        var seen: Set<String> = []
        for header in headers {
            let name = header.lowercased()
            guard seen.insert(name).inserted else { continue }
            let n = message.count(of: name)
            // One more than present signs the absence of another instance.
            let extra = oversign || Self.alwaysOversigned.contains(name) ? 1 : 0
            names.append(contentsOf: repeatElement(name, count: n + extra))
        }
        return names
    }

    /// The signature header field up to and including `b=` (value empty), folded, no final CRLF.
    func signatureField(_ identity: Identity, names: [String], bodyHash: [UInt8], timestamp: Int64) -> [UInt8] {
        let algorithm = identity.key.algorithm == .rsa ? "rsa-sha256" : "ed25519-sha256"
        var text = "DKIM-Signature: v=1; a=\(algorithm); c=\(headerCanonicalization.rawValue)/\(bodyCanonicalization.rawValue);"
        text += " d=\(identity.domain); s=\(identity.selector);\r\n\tt=\(timestamp); h="
        var lineLength = 4 + 2 + String(timestamp).count + 5
        for (i, name) in names.enumerated() {
            let piece = name + (i == names.count - 1 ? ";" : ":")
            if lineLength + piece.count > 76 {
                text += "\r\n\t "
                lineLength = 2
            }
            text += piece
            lineLength += piece.count
        }
        text += "\r\n\tbh=" + String(decoding: bodyHash, as: UTF8.self) + ";\r\n\tb="
        return Array(text.utf8)
    }

    /// What is signed (RFC 6376 §3.7): the canonicalized header fields named by `signedNames`
    /// (each name picks its instances from the bottom up; names beyond the count add nothing),
    /// then the canonicalized signature field with an empty `b=` value and no final CRLF.
    /// Public so verifiers and tests can reproduce it. Pure.
    public static func signatureInput(_ message: DKIMMessage, signedNames: [String], signatureField: [UInt8],
                                      canonicalization: DKIMCanonicalization) -> [UInt8] {
        var byName: [String: [Range<Int>]] = [:]
        for i in message.fields.indices { byName[message.name(i), default: []].append(message.fields[i]) }
        var input: [UInt8] = []
        for name in signedNames {
            let key = name.lowercased().trimmingWhitespace()
            guard var list = byName[key], let last = list.popLast() else { continue }
            byName[key] = list
            input.append(contentsOf: canonicalization.header(message.bytes[last]))
        }
        var field = canonicalization.header(signatureField[...] + [0x0D, 0x0A])
        field.removeLast(2)
        input.append(contentsOf: field)
        return input
    }

    /// Signs `input` as DKIM's algorithms do: RSA over SHA-256(input); Ed25519 over the SHA-256
    /// hash itself (RFC 8463 §3). Blocks for the key operation.
    public static func sign(_ input: [UInt8], with key: SigningKey) throws -> [UInt8] {
        switch key.algorithm {
        case .rsa: return try key.sign(input)
        case .ed25519: return try key.sign(Digest.sha256(input))
        }
    }

    /// Base64 text folded into lines of at most 72 characters (`first` characters already used on
    /// the first line), continuation lines starting with a tab.
    static func folded(_ text: [UInt8], first: Int) -> [UInt8] {
        var out: [UInt8] = []
        var column = first
        for b in text {
            if column >= 72 {
                out.append(contentsOf: [0x0D, 0x0A, 0x09])
                column = 1
            }
            out.append(b)
            column += 1
        }
        return out
    }
}
