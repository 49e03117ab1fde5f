import RelayConfig

/// Where a webhook URL points and whether it may be called: `http(s)://host[:port]/path`, and
/// the SSRF rule (private, loopback, link-local, CGNAT, multicast and unspecified addresses only
/// inside `webhooks.allowedPrivateNetworks`). Pure; any thread.
struct WebhookTarget: Sendable, Equatable {
    var tls: Bool
    var host: String
    var port: UInt16
    /// Path and query, at least "/".
    var path: String

    /// Parses an endpoint URL; nil when it is not http(s) with a host.
    init?(url: String) {
        let lower = url.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") { tls = true; rest = url.dropFirst(8) }
        else if lower.hasPrefix("http://") { tls = false; rest = url.dropFirst(7) }
        else { return nil }
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<slash]
        let p = String(rest[slash...])
        path = p.isEmpty ? "/" : (p.hasPrefix("?") ? "/" + p : p)
        guard !authority.contains("@"), !authority.isEmpty else { return nil }
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { return nil }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                portText = authority[authority.index(after: colon)...]
                authority = authority[..<colon]
            }
            host = String(authority)
        }
        guard !host.isEmpty else { return nil }
        if let portText {
            guard let n = UInt16(portText), n > 0 else { return nil }
            port = n
        } else {
            port = tls ? 443 : 80
        }
    }

    /// The `Host` header value.
    var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? h : "\(h):\(port)"
    }

    /// Networks no webhook may reach unless allowed.
    static let privateNetworks: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96",
    ].compactMap { IPNetwork($0) }

    /// Nil when `address` may be called, else why not.
    static func refusal(_ address: IPAddress, allowed: [IPNetwork]) -> String? {
        let ip = address.unmapped
        if allowed.contains(where: { $0.contains(ip) }) { return nil }
        guard let net = privateNetworks.first(where: { $0.contains(ip) }) else { return nil }
        return "refused to call \(ip): inside \(net) (private, loopback or link-local); "
            + "list it in webhooks.allowedPrivateNetworks to allow it"
    }
}
