extension RelayConfig {
    /// The static route for a recipient domain: an exact (case-insensitive, trailing dot ignored)
    /// match first, else the `*` route, else nil (use MX). Pure; any thread.
    public func route(forDomain domain: some StringProtocol) -> Route? {
        var d = domain.lowercased()
        if d.hasSuffix(".") { d.removeLast() }
        return routes.first { $0.domain == d } ?? routes.first { $0.domain == "*" }
    }

    /// The configured user with this name, or nil. Pure; any thread.
    public func user(named name: String) -> User? { users.first { $0.name == name } }
}

extension RelayConfig.Policy {
    /// True if `ip` is inside one of `trustedNetworks` (may relay without AUTH). Pure; any thread.
    public func isTrusted(_ ip: IPAddress) -> Bool { trustedNetworks.contains { $0.contains(ip) } }

    /// True if `domain` is one of `localDomains` (case-insensitive, trailing dot ignored). Pure.
    public func isLocalDomain(_ domain: some StringProtocol) -> Bool {
        var d = domain.lowercased()
        if d.hasSuffix(".") { d.removeLast() }
        return localDomains.contains(d)
    }
}

extension RelayConfig.DNS {
    /// The region whose networks contain `client`, choosing the longest (most specific) prefix when
    /// several match, ties broken by region name; nil when no region matches. Pure; any thread.
    public func region(for client: IPAddress) -> String? {
        var best: (name: String, length: Int)? = nil
        for name in regions.keys.sorted() {
            for net in regions[name]! where net.contains(client) {
                // Compare IPv4 prefixes on the IPv6 scale so mapped and native lengths are comparable.
                let length = net.address.isIPv4 ? net.prefixLength + 96 : net.prefixLength
                if best == nil || length > best!.length { best = (name, length) }
            }
        }
        return best?.name
    }
}
