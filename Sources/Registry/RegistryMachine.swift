/// The control plane's deterministic state machine: given a committed `RegistryCommand` and the
/// current records it names, returns the records to write and the notices to record as events.
/// Pure: no clock, no I/O; every time comes from the command. Any thread.
public enum RegistryMachine {
    /// What applying one command does.
    public struct Transition: Sendable, Equatable {
        /// Records to store (`nil` value: delete), by key.
        public var writes: [(key: String, record: RegistryRecord?)] = []
        /// Things worth an event (a domain verified, failing, removed).
        public var notices: [Notice] = []
        /// Set when the command was refused; then nothing else changes.
        public var rejection: String? = nil
        /// Pending calls moved to the finished calls (batch results), after `writes`: their
        /// records are rewritten by the store from the stored bytes (`CallRetirement`).
        public var retirements: [CallRetirement] = []

        public static func == (a: Transition, b: Transition) -> Bool {
            a.writes.map(\.key) == b.writes.map(\.key) && a.writes.map(\.record) == b.writes.map(\.record)
                && a.notices == b.notices && a.rejection == b.rejection && a.retirements == b.retirements
        }

        static func rejected(_ reason: String) -> Transition {
            var t = Transition()
            t.rejection = reason
            return t
        }
    }

    /// A control-plane change that deserves an event.
    public struct Notice: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable {
            case domainAdded = "domain.added"
            case domainVerified = "domain.verified"
            case domainFailing = "domain.failing"
            case domainRemoved = "domain.removed"
            case keysRotated = "domain.keys_rotated"
            case limitExceeded = "limit.exceeded"
            case credentialAlert = "credential.alert"
            case credentialSuspended = "credential.suspended"
            case credentialReinstated = "credential.reinstated"
            /// A webhook call used up its retries (`domain` holds the endpoint id).
            case webhookFailing = "webhook.failing"
            /// A webhook receiver answered 410 (`domain` holds the endpoint id).
            case webhookDisabled = "webhook.disabled"
        }
        public var kind: Kind
        public var domain: String
        public var tenant: String
        public var reason: String
        public var at: Int64
    }

    /// Longest domain name (RFC 1035) and selector label accepted.
    static let maxDomainLength = 253, maxSelectorLength = 63

    /// Applies `command` to `current` (the records of `command.keys`, nil when absent).
    public static func apply(_ command: RegistryCommand, current: [String: RegistryRecord]) -> Transition {
        switch command {
        case .addDomain(let d):
            let key = RegistryKeys.domain(d.name)
            guard current[key] == nil else { return .rejected("domain \(d.name) already exists") }
            if let problem = validate(d) { return .rejected(problem) }
            var t = Transition()
            t.writes = [(key, .domain(d))]
            t.notices = [Notice(kind: .domainAdded, domain: d.name, tenant: d.tenant, reason: "", at: d.createdAt)]
            return t
        case .removeDomain(let name, let at):
            let key = RegistryKeys.domain(name)
            guard let d = current[key]?.domain else { return .rejected("no sending domain \(name)") }
            var t = Transition()
            t.writes = [(key, nil)]
            t.notices = [Notice(kind: .domainRemoved, domain: d.name, tenant: d.tenant, reason: "", at: at)]
            return t
        case .recordCheck(let name, let found, let reason, let at, let grace):
            let key = RegistryKeys.domain(name)
            guard var d = current[key]?.domain else { return .rejected("no sending domain \(name)") }
            return check(&d, key: key, found: Set(found), reason: reason, at: at, grace: grace)
        case .addKeys(let name, let keys):
            let key = RegistryKeys.domain(name)
            guard var d = current[key]?.domain else { return .rejected("no sending domain \(name)") }
            guard d.nextKeys.isEmpty else { return .rejected("a rotation of \(name) is already waiting for its records") }
            guard !keys.isEmpty, keys.allSatisfy({ $0.state == .next }) else { return .rejected("rotation keys must be new ('next') keys") }
            let taken = Set(d.keys.map(\.selector))
            guard keys.allSatisfy({ !taken.contains($0.selector) }) else { return .rejected("selector already used by \(name)") }
            d.keys += keys
            if let problem = validate(d) { return .rejected(problem) }
            var t = Transition()
            t.writes = [(key, .domain(d))]
            return t
        case .limits(let c):
            return applyLimits(c, current: current)
        case .setTenant(let settings):
            guard !settings.name.isEmpty, settings.name.utf8.count <= 128 else { return .rejected("tenant names are 1-128 bytes") }
            var t = Transition()
            t.writes = [(RegistryKeys.tenant(settings.name), .tenant(settings))]
            return t
        case .credential(let c):
            return applyCredential(c, current: current)
        case .webhook(let w):
            return applyWebhook(w, current: current)
        }
    }

    static func check(_ d: inout SendingDomain, key: String, found: Set<String>, reason: String, at: Int64,
                      grace: Int64) -> Transition {
        var t = Transition()
        let before = d.status
        d.checkedAt = at
        // A rotation takes over once every next key's record is found.
        let next = d.nextKeys
        if !next.isEmpty && next.allSatisfy({ found.contains($0.selector) }) {
            for i in d.keys.indices {
                switch d.keys[i].state {
                case .active:
                    d.keys[i].state = .retired
                    d.keys[i].retiresAt = at + grace
                case .next:
                    d.keys[i].state = .active
                case .retired:
                    break
                }
            }
            t.notices.append(Notice(kind: .keysRotated, domain: d.name, tenant: d.tenant,
                                    reason: "selectors " + next.map(\.selector).joined(separator: ", ") + " now sign", at: at))
        }
        // Retired keys past their grace period are forgotten.
        d.keys.removeAll { $0.state == .retired && ($0.retiresAt ?? 0) <= at }
        let active = d.activeKeys
        let missing = active.filter { !found.contains($0.selector) }.map(\.selector)
        if missing.isEmpty && !active.isEmpty {
            d.status = .verified
            d.statusReason = ""
            if before != .verified {
                d.verifiedAt = at
                t.notices.append(Notice(kind: .domainVerified, domain: d.name, tenant: d.tenant, reason: "", at: at))
            }
        } else {
            let why = reason.isEmpty ? "DKIM record not found for selector " + missing.joined(separator: ", ") : reason
            d.statusReason = why
            if before == .verified {
                d.status = .failing
                t.notices.append(Notice(kind: .domainFailing, domain: d.name, tenant: d.tenant, reason: why, at: at))
            }
        }
        t.writes = [(key, .domain(d))]
        return t
    }

    /// A problem with a domain record, or nil.
    static func validate(_ d: SendingDomain) -> String? {
        guard isDomainName(d.name) else { return "'\(d.name)' is not a valid domain name" }
        guard d.name == d.name.lowercased() else { return "domain names are stored in lower case" }
        guard !d.tenant.isEmpty, d.tenant.utf8.count <= 128 else { return "a domain needs a tenant (1-128 bytes)" }
        guard isDomainName(d.returnPath) else { return "'\(d.returnPath)' is not a valid return-path domain" }
        guard !d.keys.isEmpty else { return "a domain needs at least one DKIM key" }
        var selectors: Set<String> = []
        for k in d.keys {
            guard isLabel(k.selector), k.selector.utf8.count <= maxSelectorLength else { return "'\(k.selector)' is not a valid selector" }
            guard selectors.insert(k.selector).inserted else { return "selector \(k.selector) appears twice" }
            guard k.algorithm == "rsa" || k.algorithm == "ed25519" else { return "unknown key algorithm \(k.algorithm)" }
            guard !k.publicKey.isEmpty, !k.sealedPrivateKey.isEmpty else { return "key \(k.selector) lacks its key material" }
        }
        return nil
    }

    /// A host name: dot-separated LDH labels, 1-253 bytes, at least two labels.
    /// One pass over the UTF-8 bytes, no allocation (it runs for every accepted message): the same
    /// answer as splitting at dots and checking each label with `isLabel`, because any byte that
    /// is not ASCII fails `isLabel` wherever a split would have put it.
    public static func isDomainName(_ s: String) -> Bool {
        let utf8 = s.utf8
        guard !utf8.isEmpty, utf8.count <= maxDomainLength else { return false }
        var labels = 1, length = 0, last: UInt8 = 0
        for b in utf8 {
            if b == 0x2E {
                guard length > 0, last != 0x2D else { return false }
                labels += 1
                length = 0
                continue
            }
            guard isLabelByte(b), length < 63, length > 0 || b != 0x2D else { return false }
            length += 1
            last = b
        }
        return labels >= 2 && length > 0 && last != 0x2D
    }

    /// A letter, digit, hyphen or underscore.
    @inline(__always)
    static func isLabelByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F
    }

    static func isLabel(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= 63, u.first != 0x2D, u.last != 0x2D else { return false }
        return u.allSatisfy(isLabelByte)
    }
}
