extension RegistryMachine {
    /// Applies a credential command to `current` (its credential record and, for `add`, its
    /// tenant's). Pure.
    static func applyCredential(_ command: CredentialCommand, current: [String: RegistryRecord]) -> Transition {
        let key = RegistryKeys.credential(command.username)
        let existing = current[key]?.credential
        var t = Transition()
        switch command {
        case .add(let c):
            guard existing == nil else { return .rejected("user name \(c.username) is taken") }
            guard current[RegistryKeys.tenant(c.tenant)]?.tenant != nil else {
                return .rejected("no tenant \(c.tenant): create it first (POST /v1/tenants)")
            }
            guard !c.passwords.isEmpty else { return .rejected("a credential needs a password") }
            if let problem = validate(c) { return .rejected(problem) }
            t.writes = [(key, .credential(c))]
        case .update(let c):
            guard var stored = existing, stored.tenant == c.tenant else { return .rejected("no credential \(c.username) in tenant \(c.tenant)") }
            stored.settings = c.settings
            if let problem = validate(stored) { return .rejected(problem) }
            t.writes = [(key, .credential(stored))]
        case .rotate(let username, let hash, let at, let graceUntil):
            guard var stored = existing else { return .rejected("no credential \(username)") }
            guard !hash.isEmpty else { return .rejected("a rotation needs a password") }
            stored.passwords = stored.validPasswords(at: at).map { p in
                var p = p
                p.expiresAt = min(p.expiresAt ?? graceUntil, graceUntil)
                return p
            }.filter { $0.isValid(at: at) }
            stored.passwords.append(Credential.Password(hash: hash, createdAt: at))
            t.writes = [(key, .credential(stored))]
        case .setState(let username, let state, let reason, _):
            guard var stored = existing else { return .rejected("no credential \(username)") }
            stored.state = state
            stored.stateReason = state == .active ? "" : (reason.isEmpty ? "suspended by an operator" : reason)
            t.writes = [(key, .credential(stored))]
        case .remove(let username, let tenant, _):
            guard let stored = existing, stored.tenant == tenant else { return .rejected("no credential \(username) in tenant \(tenant)") }
            t.writes = [(key, nil)]
        case .used(_, let at, let ip):
            // A login recorded after a revocation changes nothing (and is no error).
            guard var stored = existing, (stored.lastUsedAt ?? .min) < at else { return t }
            stored.lastUsedAt = at
            stored.lastUsedIP = ip
            t.writes = [(key, .credential(stored))]
        case .rehash(_, let old, let new):
            guard var stored = existing, let i = stored.passwords.firstIndex(where: { $0.hash == old }) else { return t }
            stored.passwords[i].hash = new
            t.writes = [(key, .credential(stored))]
        }
        return t
    }

    /// A problem with a credential's fields, or nil.
    static func validate(_ c: Credential) -> String? {
        guard Credential.isValidUsername(c.username) else {
            return "user names are 1-\(Credential.maxUsernameLength) letters, digits and . _ - @ +"
        }
        guard !c.tenant.isEmpty, c.tenant.utf8.count <= 128 else { return "a credential needs a tenant (1-128 bytes)" }
        for d in c.allowedSenderDomains where !isDomainName(d) || d != d.lowercased() {
            return "'\(d)' is not a valid lower-case sender domain"
        }
        if let e = c.environment, e.utf8.count > 64 { return "environment labels are at most 64 bytes" }
        if let p = c.sourcePool, p.isEmpty || p.utf8.count > 128 { return "source pool names are 1-128 bytes" }
        return nil
    }
}
