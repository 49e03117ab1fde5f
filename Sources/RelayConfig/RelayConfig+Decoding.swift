import Foundation
import Registry

extension RelayConfig {
    /// Decodes a config from any `Decoder` (e.g. `JSONDecoder`) with the same strictness as `parse`:
    /// unknown keys and bad values throw `RelayConfigError(.invalid)`. Relative paths stay relative
    /// and passwords are not hashed; prefer `load(path:)` / `parse(data:baseDirectory:)`.
    public init(from decoder: Decoder) throws {
        let value = try JSONValue(from: decoder)
        let problems = ConfigProblems()
        let config = RelayConfig.decode(value, problems: problems)
        if problems.list.contains(where: { $0.severity == .error }) {
            throw RelayConfigError(.invalid, "invalid configuration", problems: problems.list)
        }
        self = config
    }

    /// Walks a JSON document into a config, reporting type errors, unparsable values and unknown keys.
    static func decode(_ root: JSONValue, problems: ConfigProblems) -> RelayConfig {
        var c = RelayConfig()
        var r = ConfigReader(root, path: "", problems: problems)

        if var o = r.object("node") {
            c.node.id = o.string("id", default: c.node.id)
            c.node.region = o.string("region", default: c.node.region)
            c.node.hostname = o.string("hostname")
            c.node.dataDir = o.string("dataDir", default: c.node.dataDir)
            o.finish()
        }

        if var o = r.object("listen") {
            c.listen.submission = hostPorts(&o, "submission") ?? c.listen.submission
            c.listen.smtps = hostPorts(&o, "smtps") ?? c.listen.smtps
            c.listen.relay = hostPorts(&o, "relay") ?? c.listen.relay
            c.listen.dns = hostPorts(&o, "dns") ?? c.listen.dns
            if o.isExplicitNull("admin") {
                _ = o.raw("admin")
                c.listen.admin = nil
            } else if let s = o.string("admin") {
                c.listen.admin = hostPort(s, path: o.keyPath("admin"), problems: problems)
            }
            if let s = o.string("peer") {
                c.listen.peer = hostPort(s, path: o.keyPath("peer"), problems: problems)
            }
            c.listen.adminTLS = o.bool("adminTLS", default: c.listen.adminTLS)
            o.finish()
        }

        if var o = r.object("tls") {
            let cert = o.requiredString("certificate")
            let key = o.requiredString("privateKey")
            if let cert, let key { c.tls = TLS(certificate: cert, privateKey: key) }
            o.finish()
        }

        if var o = r.object("cluster") {
            for item in o.array("peers") ?? [] {
                var p = ConfigReader(item.value, path: item.path, problems: problems)
                let id = p.requiredString("id")
                let addr = p.requiredString("address").flatMap {
                    hostPort($0, path: p.keyPath("address"), problems: problems)
                }
                let region = p.string("region", default: "default")
                if let id, let addr { c.cluster.peers.append(Peer(id: id, address: addr, region: region)) }
                p.finish()
            }
            c.cluster.secretFile = o.string("secretFile")
            c.cluster.preferredLeaderRegion = o.string("preferredLeaderRegion")
            c.cluster.join = o.bool("join", default: false)
            c.cluster.bodiesInLog = o.bool("bodiesInLog", default: true)
            c.cluster.raftMapSizeMB = o.int("raftMapSizeMB", default: c.cluster.raftMapSizeMB)
            if o.raw("raftMaxMapSizeMB") != nil {
                c.cluster.raftMaxMapSizeMB = o.int("raftMaxMapSizeMB", default: c.cluster.raftMapSizeMB)
            }
            if var t = o.object("tls") {
                let cert = t.requiredString("certificate")
                let key = t.requiredString("privateKey")
                let ca = t.requiredString("caFile")
                if let cert, let key, let ca { c.cluster.tls = ClusterTLS(certificate: cert, privateKey: key, caFile: ca) }
                t.finish()
            }
            o.finish()
        }

        for item in r.array("users") ?? [] {
            var u = ConfigReader(item.value, path: item.path, problems: problems)
            let name = u.requiredString("name")
            let password = u.string("password")
            let hash = u.string("passwordHash")
            let tenant = u.string("tenant", default: "default")
            let nets = networks(&u, "allowedNetworks") ?? []
            let pool = u.string("pool")
            var limits: SendingLimits? = nil
            if var l = u.object("limits") { limits = decodeLimits(&l) }
            let sandbox = u.bool("sandbox", default: false)
            if let name {
                var user = User(name: name, password: password, passwordHash: hash,
                                tenant: tenant, allowedNetworks: nets, pool: pool)
                user.limits = limits
                user.sandbox = sandbox
                c.users.append(user)
            }
            u.finish()
        }

        for item in r.array("routes") ?? [] {
            var o = ConfigReader(item.value, path: item.path, problems: problems)
            let domain = o.requiredString("domain")
            var hosts: [HostPort] = []
            if let list = o.strings("hosts") {
                for h in list {
                    if let hp = hostPort(h.value, path: h.path, problems: problems, defaultPort: 25) {
                        hosts.append(hp)
                    }
                }
            } else if !o.isExplicitNull("hosts") && o.fields["hosts"] == nil {
                problems.error(o.keyPath("hosts"), "is required")
            }
            var tls = RouteTLS.opportunistic
            if let t = o.string("tls") {
                if let v = RouteTLS(rawValue: t) {
                    tls = v
                } else {
                    problems.error(o.keyPath("tls"), "'\(t)' is not one of none, opportunistic, required, verify")
                }
            }
            let implicit = o.bool("implicitTLS", default: false)
            var auth: RouteAuth? = nil
            if var a = o.object("auth") {
                let user = a.requiredString("username")
                let file = a.requiredString("passwordFile")
                if let user, let file { auth = RouteAuth(username: user, passwordFile: file) }
                a.finish()
            }
            let pool = o.string("pool")
            if let domain {
                c.routes.append(Route(domain: domain.lowercased(), hosts: hosts, tls: tls,
                                      implicitTLS: implicit, auth: auth, pool: pool))
            }
            o.finish()
        }

        if var o = r.object("resolver") {
            if let list = o.strings("nameservers") {
                c.resolver.nameservers = list.compactMap {
                    hostPort($0.value, path: $0.path, problems: problems, defaultPort: 53)
                }
            }
            c.resolver.timeoutMs = o.int("timeoutMs", default: c.resolver.timeoutMs)
            o.finish()
        }

        c.adminToken = r.string("adminToken")
        c.adminTokenFile = r.string("adminTokenFile")
        c.adminReadOnlyToken = r.string("adminReadOnlyToken")
        c.adminReadOnlyTokenFile = r.string("adminReadOnlyTokenFile")
        c.metricsToken = r.string("metricsToken")
        if c.adminReadOnlyToken != nil && c.adminReadOnlyTokenFile != nil {
            problems.error("adminReadOnlyTokenFile", "set either adminReadOnlyToken or adminReadOnlyTokenFile, not both")
        }
        if c.adminToken != nil && c.adminTokenFile != nil {
            problems.error("adminTokenFile", "set either adminToken or adminTokenFile, not both")
        }

        if var o = r.object("dns") {
            let zone = o.requiredString("zone")
            let ingress = o.requiredString("ingressName")
            let ttl = o.int("ttl", default: 60)
            var regions: [String: [IPNetwork]] = [:]
            if var reg = o.object("regions") {
                for name in reg.fields.keys.sorted() {
                    regions[name] = networks(&reg, name) ?? []
                }
                reg.finish()
            }
            var rateLimit = DNS.RateLimit()
            if var rl = o.object("rateLimit") { RelayConfig.decodeDNSRateLimit(&rl, into: &rateLimit) }
            if let zone, let ingress {
                c.dns = DNS(zone: zone.lowercased(), ingressName: ingress.lowercased(), ttl: ttl, regions: regions)
                c.dns?.rateLimit = rateLimit
            }
            o.finish()
        }

        if var o = r.object("policy") {
            if let list = o.strings("localDomains") { c.policy.localDomains = list.map { $0.value.lowercased() } }
            c.policy.trustedNetworks = networks(&o, "trustedNetworks") ?? []
            c.policy.maxConnectionsPerIP = o.int("maxConnectionsPerIP", default: c.policy.maxConnectionsPerIP)
            c.policy.maxAuthFailuresPerIP = o.int("maxAuthFailuresPerIP", default: c.policy.maxAuthFailuresPerIP)
            c.policy.authFailureWindowSeconds = o.int("authFailureWindowSeconds",
                                                      default: c.policy.authFailureWindowSeconds)
            c.policy.ipv6PrefixLength = o.int("ipv6PrefixLength", default: c.policy.ipv6PrefixLength)
            o.finish()
        }

        if var o = r.object("limits") {
            c.limits.maxMessageSize = o.int("maxMessageSize", default: c.limits.maxMessageSize)
            c.limits.maxRecipients = o.int("maxRecipients", default: c.limits.maxRecipients)
            c.limits.maxErrors = o.int("maxErrors", default: c.limits.maxErrors)
            c.limits.maxDataLineLength = o.int("maxDataLineLength", default: c.limits.maxDataLineLength)
            c.limits.maxConnections = o.int("maxConnections", default: c.limits.maxConnections)
            c.limits.messageMemoryMB = o.int("messageMemoryMB", default: c.limits.messageMemoryMB)
            c.limits.maxHops = o.int("maxHops", default: c.limits.maxHops)
            c.limits.maxPendingAuth = o.int("maxPendingAuth", default: c.limits.maxPendingAuth)
            o.finish()
        }

        if var o = r.object("timeouts") {
            c.timeouts.command = o.int("command", default: c.timeouts.command)
            c.timeouts.dataBlock = o.int("dataBlock", default: c.timeouts.dataBlock)
            c.timeouts.dataTermination = o.int("dataTermination", default: c.timeouts.dataTermination)
            o.finish()
        }

        if var o = r.object("spool") {
            c.spool.mapSizeMB = o.int("mapSizeMB", default: c.spool.mapSizeMB)
            if o.raw("maxMapSizeMB") != nil { c.spool.maxMapSizeMB = o.int("maxMapSizeMB", default: c.spool.mapSizeMB) }
            c.spool.fsync = o.bool("fsync", default: c.spool.fsync)
            c.spool.writerNice = o.int("writerNice", default: c.spool.writerNice)
            c.spool.eventRetentionHours = o.int("eventRetentionHours", default: c.spool.eventRetentionHours)
            if var t = o.object("tenantEventRetentionHours") {
                for tenant in t.fields.keys.sorted() { c.spool.tenantEventRetentionHours[tenant] = max(1, t.int(tenant, default: 1)) }
                t.finish()
            }
            if o.raw("reserveMB") != nil { c.spool.reserveMB = o.int("reserveMB", default: c.spool.effectiveReserveMB) }
            o.finish()
        }

        if var o = r.object("delivery") {
            decodeDelivery(&o, into: &c.delivery)
        }

        if var o = r.object("dkim") {
            decodeDKIM(&o, into: &c.dkim)
        }
        if var o = r.object("oauth") { decodeOAuth(&o, into: &c.oauth) }
        if var o = r.object("webhooks") { decodeWebhooks(&o, into: &c.webhooks) }

        if var o = r.object("bounces") { decodeBounces(&o, into: &c.bounces) }

        if var o = r.object("log") {
            if let l = o.string("level") {
                if let v = LogLevel(rawValue: l) {
                    c.log.level = v
                } else {
                    let names = LogLevel.allCases.map(\.rawValue).joined(separator: ", ")
                    problems.error(o.keyPath("level"), "'\(l)' is not one of \(names)")
                }
            }
            o.finish()
        }

        if var o = r.object("sendingLimits") { decodeSendingLimits(&o, into: &c.sendingLimits) }
        if var o = r.object("abuse") { decodeAbuse(&o, into: &c.abuse) }
        if var o = r.object("spamFilter") { c.spamFilter = decodeSpamFilter(&o) }
        r.finish()
        return c
    }

    static func hostPort(_ s: String, path: String, problems: ConfigProblems,
                         defaultPort: UInt16? = nil) -> HostPort? {
        if let hp = HostPort(s, defaultPort: defaultPort) { return hp }
        problems.error(path, "'\(s)' is not a valid host:port")
        return nil
    }

    static func hostPorts(_ r: inout ConfigReader, _ key: String) -> [HostPort]? {
        guard let list = r.strings(key) else { return nil }
        return list.compactMap { hostPort($0.value, path: $0.path, problems: r.problems) }
    }

    static func networks(_ r: inout ConfigReader, _ key: String) -> [IPNetwork]? {
        guard let list = r.strings(key) else { return nil }
        return list.compactMap { item in
            switch IPNetwork.parse(item.value) {
            case .success(let n): return n
            case .failure(let f):
                r.problems.error(item.path, "'\(item.value)' \(f)")
                return nil
            }
        }
    }
}
