import Foundation

extension RelayConfig {
    /// Every semantic problem in this config (ranges, duplicates, cross references, missing files),
    /// errors and warnings, not just the first. Checks that referenced files exist, so it touches the
    /// disk (stat only); does not block otherwise. Any thread may call it.
    public func validate() -> [Problem] {
        let p = ConfigProblems()
        validateNode(p)
        validateListen(p)
        validateTLSAndSecrets(p)
        validateCluster(p)
        validateUsers(p)
        validateRoutes(p)
        validateResolverAndDNS(p)
        validatePolicyAndLimits(p)
        validateDelivery(p)
        validateDKIM(p)
        validateOAuth(p)
        validateWebhooks(p)
        validateBounces(p)
        return p.list
    }

    static let nodeIDCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".utf8)

    static func isValidID(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { nodeIDCharacters.contains($0) }
    }

    func validateNode(_ p: ConfigProblems) {
        if !RelayConfig.isValidID(node.id) {
            p.error("node.id", "'\(node.id)' must be 1-64 letters, digits, '-', '_' or '.'")
        }
        if !RelayConfig.isValidID(node.region) {
            p.error("node.region", "'\(node.region)' must be 1-64 letters, digits, '-', '_' or '.'")
        }
        if let h = node.hostname, !HostPort.isValidHostname(h) {
            p.error("node.hostname", "'\(h)' is not a valid host name")
        }
        if node.dataDir.isEmpty { p.error("node.dataDir", "must not be empty") }
    }

    func validateListen(_ p: ConfigProblems) {
        var seen: [HostPort: String] = [:]
        func claim(_ hp: HostPort, _ path: String) {
            guard hp.port != 0 else { return }
            if let other = seen[hp] {
                p.error(path, "\(hp) is already used by \(other)")
            } else {
                seen[hp] = path
            }
        }
        for (name, list) in [("submission", listen.submission), ("smtps", listen.smtps), ("relay", listen.relay)] {
            for (i, hp) in list.enumerated() { claim(hp, "listen.\(name)[\(i)]") }
        }
        if let a = listen.admin { claim(a, "listen.admin") }
        if let peer = listen.peer { claim(peer, "listen.peer") }
        // DNS binds UDP and TCP on its own ports; it only collides with other TCP listeners.
        for (i, hp) in listen.dns.enumerated() { claim(hp, "listen.dns[\(i)]") }
        for (name, list) in [("submission", listen.submission), ("smtps", listen.smtps), ("relay", listen.relay),
                             ("dns", listen.dns)] {
            for (i, hp) in list.enumerated() where hp.ipAddress == nil {
                p.error("listen.\(name)[\(i)]", "'\(hp)' must be an IP address to bind, not a host name")
            }
        }
        if let a = listen.admin {
            if a.ipAddress == nil {
                p.error("listen.admin", "'\(a)' must be an IP address to bind, not a host name")
            } else if let ip = a.ipAddress, !ip.isLoopback, adminToken == nil, adminTokenFile == nil {
                p.error("listen.admin", "\(a) is not loopback; set adminToken or adminTokenFile")
            } else if let ip = a.ipAddress, !ip.isLoopback, !listen.adminTLS {
                p.warning("listen.admin", "\(a) is not loopback and listen.adminTLS is off: bearer tokens and message "
                          + "bodies cross the network in the clear")
            }
        }
        if let peer = listen.peer, peer.ipAddress == nil {
            p.error("listen.peer", "'\(peer)' must be an IP address to bind, not a host name")
        }
        if listen.submission.isEmpty && listen.smtps.isEmpty && listen.relay.isEmpty {
            p.warning("listen", "no SMTP listener (submission, smtps and relay are all empty)")
        }
    }

    func validateTLSAndSecrets(_ p: ConfigProblems) {
        if let t = tls {
            RelayConfig.checkFile(t.certificate, "tls.certificate", p)
            RelayConfig.checkFile(t.privateKey, "tls.privateKey", p)
        }
        if let f = adminTokenFile { RelayConfig.checkFile(f, "adminTokenFile", p) }
        if let t = adminToken {
            if t.isEmpty {
                p.error("adminToken", "must not be empty")
            } else if t.count < 16 {
                p.warning("adminToken", "is shorter than 16 characters; use a long random token")
            }
        }
        if let f = adminReadOnlyTokenFile { RelayConfig.checkFile(f, "adminReadOnlyTokenFile", p) }
        if let t = adminReadOnlyToken {
            if t.isEmpty {
                p.error("adminReadOnlyToken", "must not be empty")
            } else if t.count < 16 {
                p.warning("adminReadOnlyToken", "is shorter than 16 characters; use a long random token")
            }
            if t == adminToken { p.error("adminReadOnlyToken", "must differ from adminToken") }
        }
        if listen.admin != nil && adminToken == nil && adminTokenFile == nil {
            p.warning("adminToken", "not set; the admin API refuses every request until adminToken or adminTokenFile is set")
        }
    }

    func validateCluster(_ p: ConfigProblems) {
        var ids: Set<String> = [node.id]
        for (i, peer) in cluster.peers.enumerated() {
            let path = "cluster.peers[\(i)]"
            if !RelayConfig.isValidID(peer.id) {
                p.error(path + ".id", "'\(peer.id)' must be 1-64 letters, digits, '-', '_' or '.'")
            } else if peer.id == node.id {
                p.error(path + ".id", "'\(peer.id)' is this node's own id (node.id); list only the other nodes")
            } else if !ids.insert(peer.id).inserted {
                p.error(path + ".id", "duplicate peer id '\(peer.id)'")
            }
            if peer.address.port == 0 { p.error(path + ".address", "port 0 is not a valid peer address") }
            if !RelayConfig.isValidID(peer.region) {
                p.error(path + ".region", "'\(peer.region)' must be 1-64 letters, digits, '-', '_' or '.'")
            }
        }
        if !cluster.peers.isEmpty {
            if listen.peer == nil { p.error("listen.peer", "is required when cluster.peers is not empty") }
            if cluster.secretFile == nil {
                p.error("cluster.secretFile", "is required when cluster.peers is not empty (peer traffic must be authenticated)")
            }
        }
        if let f = cluster.secretFile { RelayConfig.checkFile(f, "cluster.secretFile", p) }
        validatePreferredLeaderRegion(p)
        if let t = cluster.tls {
            RelayConfig.checkFile(t.certificate, "cluster.tls.certificate", p)
            RelayConfig.checkFile(t.privateKey, "cluster.tls.privateKey", p)
            RelayConfig.checkFile(t.caFile, "cluster.tls.caFile", p)
        }
    }

    func validateUsers(_ p: ConfigProblems) {
        var names: Set<String> = []
        for (i, u) in users.enumerated() {
            let path = "users[\(i)]"
            if u.name.isEmpty || u.name.utf8.count > 256 || u.name.contains(where: { $0.isWhitespace || $0 == "\0" }) {
                p.error(path + ".name", "'\(u.name)' must be 1-256 characters without spaces")
            } else if !names.insert(u.name).inserted {
                p.error(path + ".name", "duplicate user '\(u.name)'")
            }
            switch (u.password, u.passwordHash) {
            case (nil, nil):
                p.error(path, "needs password or passwordHash")
            case (.some, .some):
                p.error(path, "set either password or passwordHash, not both")
            case (.some(let pw), nil):
                if pw.isEmpty { p.error(path + ".password", "must not be empty") }
            case (nil, .some(let h)):
                if let n = PasswordHasher.declaredIterations(h), n < PasswordHasher.iterationRange.lowerBound {
                    p.error(path + ".passwordHash", "has \(n) PBKDF2 iterations; at least "
                            + "\(PasswordHasher.iterationRange.lowerBound) are required (new hashes use \(PasswordHasher.defaultIterations))")
                } else if PasswordHasher.parse(h) == nil {
                    p.error(path + ".passwordHash", "is not a '$pbkdf2-sha256$i=<iterations>$<salt>$<hash>' hash")
                }
            }
            if !RelayConfig.isValidID(u.tenant) {
                p.error(path + ".tenant", "'\(u.tenant)' must be 1-64 letters, digits, '-', '_' or '.'")
            }
        }
    }

    func validateRoutes(_ p: ConfigProblems) {
        var domains: Set<String> = []
        for (i, r) in routes.enumerated() {
            let path = "routes[\(i)]"
            if r.domain != "*" && !HostPort.isValidHostname(r.domain) {
                p.error(path + ".domain", "'\(r.domain)' is not a valid domain (or '*')")
            } else if !domains.insert(r.domain).inserted {
                p.error(path + ".domain", "duplicate route for '\(r.domain)'")
            }
            if r.hosts.isEmpty { p.error(path + ".hosts", "must list at least one host") }
            for (j, h) in r.hosts.enumerated() where h.port == 0 {
                p.error(path + ".hosts[\(j)]", "port 0 is not a valid destination")
            }
            if r.implicitTLS && r.tls == .none {
                p.error(path + ".implicitTLS", "implicit TLS contradicts tls \"none\"")
            }
            if let a = r.auth {
                if a.username.isEmpty { p.error(path + ".auth.username", "must not be empty") }
                RelayConfig.checkFile(a.passwordFile, path + ".auth.passwordFile", p)
                if r.tls == .none || (r.tls == .opportunistic && !r.implicitTLS) {
                    p.warning(path + ".auth", "credentials may be sent in clear text; use tls \"required\" or \"verify\"")
                }
            }
        }
    }

    func validateResolverAndDNS(_ p: ConfigProblems) {
        for (i, ns) in resolver.nameservers.enumerated() {
            if ns.ipAddress == nil {
                p.error("resolver.nameservers[\(i)]", "'\(ns.host)' must be an IP address")
            } else if ns.port == 0 {
                p.error("resolver.nameservers[\(i)]", "port 0 is not a valid name server port")
            }
        }
        RelayConfig.checkRange(resolver.timeoutMs, 10...60_000, "resolver.timeoutMs", p)
        guard let d = dns else { return }
        if !HostPort.isValidHostname(d.zone) { p.error("dns.zone", "'\(d.zone)' is not a valid domain") }
        let zone = d.zone.hasSuffix(".") ? String(d.zone.dropLast()) : d.zone
        let ingress = d.ingressName.hasSuffix(".") ? String(d.ingressName.dropLast()) : d.ingressName
        if !HostPort.isValidHostname(d.ingressName) {
            p.error("dns.ingressName", "'\(d.ingressName)' is not a valid domain")
        } else if ingress != zone && !ingress.hasSuffix("." + zone) {
            p.error("dns.ingressName", "'\(d.ingressName)' is not inside dns.zone '\(d.zone)'")
        }
        RelayConfig.checkRange(d.ttl, 0...86_400, "dns.ttl", p)
        RelayConfig.validateDNSRateLimit(d.rateLimit, p)
        let knownRegions = Set([node.region] + cluster.peers.map(\.region))
        for name in d.regions.keys.sorted() where !knownRegions.contains(name) {
            p.warning("dns.regions.\(name)", "no node is in region '\(name)' (known: \(knownRegions.sorted().joined(separator: ", ")))")
        }
        if listen.dns.isEmpty { p.warning("dns", "zone configured but listen.dns is empty; nothing will serve it") }
    }

    func validatePolicyAndLimits(_ p: ConfigProblems) {
        for (i, d) in policy.localDomains.enumerated() where !HostPort.isValidHostname(d) {
            p.error("policy.localDomains[\(i)]", "'\(d)' is not a valid domain")
        }
        RelayConfig.checkRange(policy.maxConnectionsPerIP, 1...1_000_000, "policy.maxConnectionsPerIP", p)
        RelayConfig.checkRange(policy.maxAuthFailuresPerIP, 1...1_000_000, "policy.maxAuthFailuresPerIP", p)
        RelayConfig.checkRange(policy.authFailureWindowSeconds, 1...86_400, "policy.authFailureWindowSeconds", p)
        RelayConfig.checkRange(policy.ipv6PrefixLength, 16...128, "policy.ipv6PrefixLength", p)
        // A message is one replicated log entry, and peer frames are bounded (256 MiB): keep room
        // for the envelope of limits.maxRecipients recipients.
        RelayConfig.checkRange(limits.maxMessageSize, 1024...Limits.maxReplicatedMessageSize, "limits.maxMessageSize", p)
        RelayConfig.checkRange(limits.maxRecipients, 1...100_000, "limits.maxRecipients", p)
        if limits.maxRecipients >= 1 && limits.maxRecipients < 100 {
            p.warning("limits.maxRecipients", "RFC 5321 requires accepting at least 100 recipients")
        }
        RelayConfig.checkRange(limits.maxErrors, 1...1000, "limits.maxErrors", p)
        RelayConfig.checkRange(limits.maxDataLineLength, 998...1_000_000, "limits.maxDataLineLength", p)
        RelayConfig.checkRange(limits.maxConnections, 1...10_000_000, "limits.maxConnections", p)
        RelayConfig.checkRange(limits.messageMemoryMB, 1...1_048_576, "limits.messageMemoryMB", p)
        RelayConfig.checkRange(limits.maxHops, 1...1_000, "limits.maxHops", p)
        RelayConfig.checkRange(limits.maxPendingAuth, 0...1_000_000, "limits.maxPendingAuth", p)
        if limits.messageMemoryMB >= 1 && limits.messageMemoryMB << 20 < limits.maxMessageSize {
            p.error("limits.messageMemoryMB", "\(limits.messageMemoryMB) MiB cannot hold one message of "
                    + "limits.maxMessageSize (\(limits.maxMessageSize) bytes)")
        }
        RelayConfig.checkRange(timeouts.command, 1...86_400, "timeouts.command", p)
        RelayConfig.checkRange(timeouts.dataBlock, 1...86_400, "timeouts.dataBlock", p)
        RelayConfig.checkRange(timeouts.dataTermination, 1...86_400, "timeouts.dataTermination", p)
        RelayConfig.checkRange(spool.mapSizeMB, 16...16_777_216, "spool.mapSizeMB", p)
        if let max = spool.maxMapSizeMB {
            RelayConfig.checkRange(max, Swift.max(16, spool.mapSizeMB)...16_777_216, "spool.maxMapSizeMB", p)
        }
        RelayConfig.checkRange(cluster.raftMapSizeMB, 16...16_777_216, "cluster.raftMapSizeMB", p)
        if let max = cluster.raftMaxMapSizeMB {
            RelayConfig.checkRange(max, Swift.max(16, cluster.raftMapSizeMB)...16_777_216, "cluster.raftMaxMapSizeMB", p)
        }
        RelayConfig.checkRange(spool.eventRetentionHours, 1...87_600, "spool.eventRetentionHours", p)
        RelayConfig.checkRange(spool.writerNice, -20...19, "spool.writerNice", p)
        if let reserve = spool.reserveMB, spool.mapSizeMB >= 16 {
            RelayConfig.checkRange(reserve, 1...max(1, spool.mapSizeMB / 2), "spool.reserveMB", p)
        }
        if !spool.fsync { p.warning("spool.fsync", "false: accepted mail can be lost on power failure") }
    }

    static func checkRange(_ v: Int, _ range: ClosedRange<Int>, _ path: String, _ p: ConfigProblems) {
        if !range.contains(v) {
            p.error(path, "\(v) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
    }

    static func checkFile(_ file: String, _ path: String, _ p: ConfigProblems) {
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: file, isDirectory: &isDir) {
            p.error(path, "file '\(file)' does not exist")
        } else if isDir.boolValue {
            p.error(path, "'\(file)' is a directory, not a file")
        } else if !FileManager.default.isReadableFile(atPath: file) {
            p.error(path, "file '\(file)' is not readable")
        }
    }
}
