import DNSCore
import DNSService
import Foundation
import NetworkIO
import RelayConfig

extension RelayNode {
    /// The addresses clients should use to reach this node: the explicit IPs of its SMTP
    /// listeners, else those of its DNS listeners.
    static func advertisedAddresses(_ config: RelayConfig) -> [String] {
        let smtp = (config.listen.submission + config.listen.smtps + config.listen.relay).map(\.host)
        let wild: Set<String> = ["0.0.0.0", "::", "[::]"]
        var out: [String] = []
        for h in smtp + config.listen.dns.map(\.host) where !wild.contains(h) && !out.contains(h) {
            if DNSIPAddress.parse(h) != nil { out.append(h) }
        }
        return out
    }

    /// Starts the authoritative DNS server on `listen.dns` with the configured UDP response rate
    /// limiting (`dns.rateLimit`, on by default). Throws `DNSServiceError` when a bind fails.
    static func makeDNSServer(_ config: RelayConfig, dns: RelayConfig.DNS, zone: DNSResponder.Zone) throws -> DNSServer {
        try DNSServer(listen: config.listen.dns.map(\.description), zone: zone, rateLimit: rateLimiter(dns.rateLimit))
    }

    /// The limiter for `dns.rateLimit`; nil when disabled.
    static func rateLimiter(_ r: RelayConfig.DNS.RateLimit) -> DNSRateLimiter? {
        guard r.enabled else { return nil }
        return DNSRateLimiter(responsesPerSecond: r.responsesPerSecond, errorsPerSecond: r.errorsPerSecond, slip: r.slip,
                              window: r.window, ipv4PrefixLength: r.ipv4PrefixLength, ipv6PrefixLength: r.ipv6PrefixLength)
    }

    /// Builds the authoritative zone from the config and the current health view.
    static func makeZone(_ config: RelayConfig, dns: RelayConfig.DNS, health: ClusterHealth?,
                         domains: SendingDomains? = nil) throws -> DNSResponder.Zone {
        func nodeName(_ id: String) -> String { "\(id).\(dns.zone)" }
        var nodes: [DNSResponder.Zone.Node] = [
            try .init(id: config.node.id, name: nodeName(config.node.id), addresses: advertisedAddresses(config),
                      region: config.node.region, healthy: health?.selfHealthy() ?? true),
        ]
        for peer in health?.peers() ?? [] {
            let host = String(peer.address[..<(peer.address.lastIndex(of: ":") ?? peer.address.endIndex)])
                .trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            let addresses = DNSIPAddress.parse(host) != nil ? [host] : []
            nodes.append(try .init(id: peer.id, name: nodeName(peer.id), addresses: addresses, region: peer.region,
                                   healthy: health!.isHealthy(peer)))
        }
        let regions = try DNSResponder.Zone.Region.list(from: dns.regions.mapValues { $0.map(\.description) })
        var txt = try spfRecords(zone: dns.zone, nodes: nodes)
        var zone = try DNSResponder.Zone(origin: dns.zone, ingressName: dns.ingressName, ttl: UInt32(dns.ttl),
                                         nodes: nodes, regions: regions, txt: [:])
        // Sending domains inside the zone publish themselves: DKIM keys, SPF, DMARC, return-path MX.
        let published = domains?.zoneRecords(inside: dns.zone)
        for (name, values) in published?.txt ?? [:] {
            guard let owner = try? DNSName(name), txt[owner] == nil || name.hasPrefix("_") || name.contains("._domainkey.") else { continue }
            txt[owner, default: []] += values
        }
        for (name, exchange) in published?.mx ?? [:] {
            if let owner = try? DNSName(name), let target = try? DNSName(exchange) { zone.mx[owner] = target }
        }
        zone.txt = txt
        return zone
    }

    /// SPF (RFC 7208) for what the relay publishes: each node's name lists its own addresses (it
    /// uses that name in EHLO), the zone apex lists every node's. Mail from these names sent from
    /// anywhere else fails SPF.
    static func spfRecords(zone: String, nodes: [DNSResponder.Zone.Node]) throws -> [DNSName: [String]] {
        func spf(_ v4: [[UInt8]], _ v6: [[UInt8]]) -> String {
            let mechanisms = v4.compactMap { DNSIPAddress.format($0).map { "ip4:" + $0 } }
                + v6.compactMap { DNSIPAddress.format($0).map { "ip6:" + $0 } }
            return (["v=spf1"] + mechanisms + ["-all"]).joined(separator: " ")
        }
        var txt: [DNSName: [String]] = [:]
        for n in nodes { txt[n.name] = [spf(n.ipv4, n.ipv6)] }
        let all = nodes.sorted { $0.id < $1.id }  // the same record on every node
        txt[try DNSName(zone)] = [spf(all.flatMap(\.ipv4), all.flatMap(\.ipv6))]
        return txt
    }
}
