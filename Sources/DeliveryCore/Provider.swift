/// A mailbox provider or filtering service recognised by the host names of its MX servers, so
/// delivery can apply that provider's shaping and throttling.
///
/// Pure value; any thread may use it.
public enum Provider: String, Sendable, Hashable, CaseIterable, Codable {
    /// Gmail and Google Workspace.
    case google
    /// Outlook.com, Hotmail and Microsoft 365.
    case microsoft
    /// Yahoo and AOL.
    case yahoo
    /// Apple iCloud Mail.
    case apple
    /// Zoho Mail.
    case zoho
    /// Proton Mail.
    case proton
    /// Fastmail.
    case fastmail
    /// Mimecast gateways.
    case mimecast
    /// Proofpoint gateways (enterprise and Essentials).
    case proofpoint
    /// Any other receiver.
    case other

    /// MX host suffixes per provider, matched on label boundaries.
    public static let mxSuffixes: [(suffix: String, provider: Provider)] = [
        ("google.com", .google), ("googlemail.com", .google),
        ("protection.outlook.com", .microsoft), ("mx.microsoft", .microsoft), ("outlook.com", .microsoft),
        ("hotmail.com", .microsoft),
        ("yahoodns.net", .yahoo),
        ("icloud.com", .apple), ("me.com", .apple),
        ("zoho.com", .zoho), ("zoho.eu", .zoho), ("zoho.in", .zoho), ("zoho.com.au", .zoho),
        ("protonmail.ch", .proton), ("proton.me", .proton),
        ("messagingengine.com", .fastmail),
        ("mimecast.com", .mimecast), ("mimecast.co.za", .mimecast),
        ("pphosted.com", .proofpoint), ("ppe-hosted.com", .proofpoint),
    ]

    /// The provider operating `mxHost` (case-insensitive, trailing dot ignored), or `.other`.
    /// `aspmx.l.google.com` → google, `example-com.mail.protection.outlook.com` → microsoft,
    /// `mta5.am0.yahoodns.net` → yahoo. Pure; any caller.
    public static func recognize(mxHost: String) -> Provider {
        // Runs per delivery attempt and outcome. An ASCII host (every MX name on the wire) is
        // matched as bytes, without lower-casing into a new string; the answer is the same because
        // ASCII lower-casing and suffix comparison are byte-wise there. Other text (whose
        // lower-casing may turn into ASCII, e.g. the Kelvin sign) takes the string path below.
        if let provider = mxHost.utf8.withContiguousStorageIfAvailable(recognizeASCII), let provider {
            return provider
        }
        var host = mxHost.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        for (suffix, provider) in mxSuffixes where host == suffix || host.hasSuffix("." + suffix) {
            return provider
        }
        return .other
    }

    /// The suffixes as bytes with their leading dot (`.google.com`), for `recognizeASCII`.
    private static let dottedSuffixes: [(dotted: [UInt8], provider: Provider)] =
        mxSuffixes.map { (Array(("." + $0.suffix).utf8), $0.provider) }

    /// `recognize(mxHost:)` on ASCII bytes; nil when a byte is not ASCII (the caller then works on
    /// the string).
    private static func recognizeASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Provider? {
        for b in bytes where b >= 0x80 { return nil }
        var count = bytes.count
        if count > 0, bytes[count - 1] == UInt8(ascii: ".") { count -= 1 }
        for (dotted, provider) in dottedSuffixes {
            // host == suffix: the whole host matches the suffix without its dot; or
            // host.hasSuffix("." + suffix): the last bytes match the dotted suffix.
            let whole = count == dotted.count - 1
            guard whole || count > dotted.count - 1 else { continue }
            let from = whole ? 1 : 0
            let offset = count - (dotted.count - from)
            var matched = true
            for i in from..<dotted.count {
                let b = bytes[offset + i - from]
                if (b >= 0x41 && b <= 0x5A ? b | 0x20 : b) != dotted[i] {
                    matched = false
                    break
                }
            }
            if matched { return provider }
        }
        return .other
    }

    /// The provider of the first recognised host among `mxHosts`, or `.other`. Pure; any caller.
    public static func recognize(mxHosts: [String]) -> Provider {
        for host in mxHosts {
            let provider = recognize(mxHost: host)
            if provider != .other { return provider }
        }
        return .other
    }
}
