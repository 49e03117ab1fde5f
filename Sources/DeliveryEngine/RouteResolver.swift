import DNSCore
import DNSService
import DeliveryCore
import RelayConfig

/// Turns a recipient domain into a `DeliveryRoute`: the static route from the configuration when
/// one matches (smart hosts, tests), else the domain's MX hosts (null MX → 556 5.1.10, NXDOMAIN and
/// "no mail host" → hard 5xx, SERVFAIL/timeouts → 451 4.4.3 to retry). Host names are resolved to
/// addresses here.
///
/// `resolve` BLOCKS on DNS (run it on a DNS worker thread); `resolveWithoutDNS` never blocks and
/// answers only when no lookup is needed. Immutable; any thread.
struct RouteResolver: Sendable {
    let config: RelayConfig
    let resolver: DNSResolver?
    let mxPort: UInt16
    let ourHostname: String
    /// MTA-STS policies for MX routes (nil: disabled or no resolver).
    var mtaSTS: MTASTSService? = nil
    /// Answers of `resolveWithoutDNS` already computed from `config` (shared by copies, which
    /// have the same `config`).
    let staticAnswers = StaticAnswers()

    /// The route for `domain` when it needs no DNS (a static route whose hosts are IP literals).
    /// Asked for every delivery attempt; the answer is computed once per domain and remembered
    /// (see `StaticAnswers`). Never blocks; any thread.
    func resolveWithoutDNS(domain: String) -> DeliveryRoute.Resolution? {
        if let known = staticAnswers.answer(for: domain) { return known }
        let answer = computeWithoutDNS(domain: domain)
        staticAnswers.remember(answer, for: domain)
        return answer
    }

    /// `resolveWithoutDNS` without the remembered answers. Pure.
    func computeWithoutDNS(domain: String) -> DeliveryRoute.Resolution? {
        guard let route = config.route(forDomain: domain) else { return nil }
        var hosts: [DeliveryRoute.Host] = []
        for hostPort in route.hosts {
            guard let literal = RouteResolver.literal(hostPort.host) else { return nil }
            hosts.append(DeliveryRoute.Host(name: hostPort.host, port: hostPort.port, addresses: [literal]))
        }
        return .route(staticRoute(route, hosts: hosts))
    }

    /// The route for `domain`. BLOCKS on DNS lookups; call from a DNS worker thread.
    func resolve(domain: String) -> DeliveryRoute.Resolution {
        if let route = config.route(forDomain: domain) {
            var hosts: [DeliveryRoute.Host] = []
            var temporary: String?
            for hostPort in route.hosts {
                switch addresses(of: hostPort.host) {
                case .success(let list): hosts.append(DeliveryRoute.Host(name: hostPort.host, port: hostPort.port, addresses: list))
                case .failure(let failure): temporary = failure.reason
                }
            }
            guard !hosts.isEmpty else {
                return .failure(SMTPReply(451, EnhancedStatusCode(4, 4, 3),
                                          "no address for the route hosts of \(domain): \(temporary ?? "not found")"))
            }
            return .route(staticRoute(route, hosts: hosts))
        }
        guard let resolver else {
            return .failure(SMTPReply(451, EnhancedStatusCode(4, 4, 3), "no DNS resolver configured for MX lookups"))
        }
        switch resolver.resolveMX(domain) {
        case .nullMX:
            return .failure(BounceClassifier.syntheticReply(for: .nullMX, host: domain))
        case .nxdomain:
            return .failure(BounceClassifier.syntheticReply(for: .domainNotFound, host: domain))
        case .noMailHost:
            return .failure(BounceClassifier.syntheticReply(for: .noMailServers, host: domain))
        case .temporaryFailure(let reason):
            return .failure(SMTPReply(451, EnhancedStatusCode(4, 4, 3), "\(domain): MX lookup failed, try again (\(reason))"))
        case .mxTargets(let targets):
            let names = targets.map { $0.host.lowercased().hasSuffix(".") ? String($0.host.lowercased().dropLast()) : $0.host.lowercased() }
            var usable = names.filter { $0 != ourHostname.lowercased() }
            guard !usable.isEmpty else {
                return .failure(SMTPReply(554, EnhancedStatusCode(5, 4, 6), "\(domain): mail for the domain loops back to myself"))
            }
            let sts = applyMTASTS(domain: domain, mxHosts: usable)
            switch sts {
            case .failure(let failure): return .failure(failure.reply)
            case .success(let applied): if let applied { usable = applied.hosts }
            }
            var hosts: [DeliveryRoute.Host] = []
            var temporary = false
            for name in usable {
                let result = resolver.resolveHost(name)
                if result.temporaryFailure != nil { temporary = true }
                if !result.addresses.isEmpty {
                    hosts.append(DeliveryRoute.Host(name: name, port: mxPort, addresses: result.addresses))
                }
            }
            guard !hosts.isEmpty else {
                if temporary {
                    return .failure(BounceClassifier.syntheticReply(for: .dnsTemporaryFailure, host: domain))
                }
                return .failure(BounceClassifier.syntheticReply(for: .noMailServers, host: domain))
            }
            let provider = Provider.recognize(mxHosts: usable)
            let minimumTLS = ShapingPolicy.defaults(for: provider).minimumTLS
            let policy = (try? sts.get())??.policy
            let tlsPolicy: SMTPClientSession.TLSPolicy = policy?.mode == .enforce ? .verify : (minimumTLS == nil ? .opportunistic : .required)
            return .route(DeliveryRoute(hosts: hosts, tlsPolicy: tlsPolicy, implicitTLS: false, credentials: nil,
                                        provider: provider, isStatic: false, mtaSTS: policy))
        }
    }

    private func staticRoute(_ route: RelayConfig.Route, hosts: [DeliveryRoute.Host]) -> DeliveryRoute {
        let credentials = route.auth.map {
            SMTPClientSession.Credentials(username: $0.username, password: $0.password ?? "")
        }
        let policy = SMTPClientSession.TLSPolicy(rawValue: route.tls.rawValue) ?? .opportunistic
        return DeliveryRoute(hosts: hosts, tlsPolicy: policy, implicitTLS: route.implicitTLS, credentials: credentials,
                             provider: Provider.recognize(mxHosts: hosts.map(\.name)), isStatic: true, pool: route.pool)
    }

    /// Addresses of a route host (an IP literal as is). BLOCKS on DNS.
    private func addresses(of host: String) -> Result<[String], ResolveFailure> {
        if let literal = RouteResolver.literal(host) { return .success([literal]) }
        guard let resolver else { return .failure(ResolveFailure("no DNS resolver configured")) }
        let result = resolver.resolveHost(host)
        if !result.addresses.isEmpty { return .success(result.addresses) }
        return .failure(ResolveFailure(result.temporaryFailure ?? (result.nxdomain ? "\(host): NXDOMAIN" : "\(host): no address")))
    }

    /// The canonical text of an IP literal (brackets allowed), nil for a host name. Pure.
    static func literal(_ host: String) -> String? {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard let bytes = DNSIPAddress.parse(bare) else { return nil }
        return DNSIPAddress.format(bytes)
    }

    /// Why a host had no address.
    struct ResolveFailure: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }
}
