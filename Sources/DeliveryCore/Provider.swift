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
        var host = mxHost.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        for (suffix, provider) in mxSuffixes where host == suffix || host.hasSuffix("." + suffix) {
            return provider
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
