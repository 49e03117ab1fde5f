extension RegistryMachine {
    /// Applies a `LimitsCommand`: merges usage reports, stores and removes suspensions, and turns
    /// refusals, alerts and suspensions into notices (events).
    static func applyLimits(_ command: LimitsCommand, current: [String: RegistryRecord]) -> Transition {
        var t = Transition()
        switch command {
        case .usage(let u):
            let key = RegistryKeys.usage(u.node)
            let merged = current[key]?.usage.map { $0.merging(u) } ?? NodeUsage(node: u.node, at: u.at).merging(u)
            t.writes = [(key, .usage(merged))]
            for (subject, what) in u.exceeded.sorted(by: { $0.key < $1.key }) {
                t.notices.append(Notice(kind: .limitExceeded, domain: subject, tenant: tenantOf(subject), reason: what, at: u.at))
            }
        case .suspend(let s):
            let key = RegistryKeys.suspension(tenant: s.tenant, username: s.username)
            guard current[key] == nil else { return .rejected("credential \(s.tenant)/\(s.username) is already suspended") }
            t.writes = [(key, .suspension(s))]
            t.notices = [Notice(kind: .credentialSuspended, domain: "\(s.tenant)/\(s.username)", tenant: s.tenant,
                                reason: "\(s.by): \(s.reason)", at: s.at)]
        case .lift(let tenant, let username, let by, let at):
            let key = RegistryKeys.suspension(tenant: tenant, username: username)
            guard current[key] != nil else { return .rejected("credential \(tenant)/\(username) is not suspended") }
            t.writes = [(key, nil)]
            t.notices = [Notice(kind: .credentialReinstated, domain: "\(tenant)/\(username)", tenant: tenant,
                                reason: "lifted by \(by)", at: at)]
        case .hold(let m):
            let key = RegistryKeys.quarantine(m.id)
            guard current[key] == nil else { return .rejected("message \(m.id) is already held") }
            t.writes = [(key, .quarantined(m))]
        case .unhold(let id):
            let key = RegistryKeys.quarantine(id)
            guard current[key] != nil else { return .rejected("no held message \(id)") }
            t.writes = [(key, nil)]
        case .alert(let tenant, let username, let reason, let at):
            t.notices = [Notice(kind: .credentialAlert, domain: "\(tenant)/\(username)", tenant: tenant, reason: reason, at: at)]
        }
        return t
    }

    /// The tenant named in a subject key (`tenant/T`, `credential/T/U`).
    static func tenantOf(_ key: String) -> String {
        let parts = key.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count >= 2 ? String(parts[1]) : ""
    }
}
