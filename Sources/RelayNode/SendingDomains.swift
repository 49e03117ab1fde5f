import DKIM
import DNSCore
import DNSService
import Dispatch
import Foundation
import Registry
import RelayConfig
import SendarixCrypto
import SendarixSupport
import SpoolStore
import Synchronization

/// Sending domains on this node: adds, rotates, verifies and removes them through the replicated
/// registry, and answers, for a message being accepted, which DKIM identities sign it and whether
/// the sender policy lets it in.
///
/// The registry (in the spool's LMDB, the same on every node) is the source of truth; this keeps a
/// cache of decoded domains and their decrypted keys for at most `cacheMillis`, so a change made on
/// any node holds here within a second. Operator calls BLOCK (key generation, DNS lookups, a log
/// commit): run them off the event loops. `identities`/`policyRefusal` never block for long (an
/// LMDB read at most once a second per domain); any thread.
final class SendingDomains: Sendable {
    let config: RelayConfig
    let store: SpoolStore
    let log: any ReplicatedLog
    let logger: NodeLogger
    let box: SecretBox
    let cacheMillis: Int64 = 1_000
    private let cache = Mutex<[String: Entry]>([:])
    private let tenants = Mutex<[String: (at: Int64, settings: TenantSettings?)]>([:])

    /// A cached lookup: the domain record (nil: none) and its active keys, decrypted.
    struct Entry {
        var at: Int64
        var domain: SendingDomain?
        var identities: [DKIMSigner.Identity]
    }

    /// What the API returns for a domain.
    struct View {
        var domain: SendingDomain
        var records: [[String: Any]]
    }

    /// Loads (or creates) the key that seals DKIM private keys. Blocks on file I/O.
    init(config: RelayConfig, store: SpoolStore, log: any ReplicatedLog, logger: NodeLogger) throws {
        self.config = config
        self.store = store
        self.log = log
        self.logger = logger
        self.box = try Self.sealingBox(config)
    }

    /// The sealing key: `dkim.keyFile`, else derived from the cluster secret, else
    /// `dataDir/dkim.key` (created with 32 random bytes, mode 0600, fsynced).
    static func sealingBox(_ config: RelayConfig) throws -> SecretBox {
        if let file = config.dkim.keyFile {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            return try SecretBox(deriveFrom: bytes, purpose: "dkim-keys")
        }
        if let secret = config.cluster.secret, !config.cluster.peers.isEmpty {
            return try SecretBox(deriveFrom: Array(secret.utf8), purpose: "dkim-keys")
        }
        let path = config.node.dataDir + "/dkim.key"
        if let data = FileManager.default.contents(atPath: path), data.count >= 32 {
            return try SecretBox(deriveFrom: Array(data), purpose: "dkim-keys")
        }
        let hex = Digest.randomBytes(32).map { String(format: "%02x", $0) }.joined()
        try RelayConfig.writeSecret(hex + "\n", to: path)
        return try SecretBox(deriveFrom: Array((hex + "\n").utf8), purpose: "dkim-keys")
    }

    // MARK: Operator actions (block)

    /// Adds `name` for `tenant` with new keys (one per `dkim.algorithms`), or with `importedPEM`
    /// (one key, e.g. migrated from another MTA) under `selector`. Returns the domain as stored.
    func add(name rawName: String, tenant: String, selector: String? = nil, importedPEM: String? = nil) throws -> View {
        let name = rawName.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ". "))
        guard RegistryMachine.isDomainName(name) else { throw DomainError.invalid("'\(rawName)' is not a valid domain name") }
        guard !tenant.isEmpty else { throw DomainError.invalid("a tenant is required") }
        let now = WallClock.nowMillis()
        var keys: [DKIMKey] = []
        if let importedPEM {
            let key = try SigningKey(pem: importedPEM)
            keys.append(try record(for: key, selector: selector ?? Self.newSelector(key.algorithm), domain: name,
                                   state: .active, at: now))
        } else {
            keys = try newKeys(domain: name, state: .active, at: now)
        }
        let domain = SendingDomain(name: name, tenant: tenant, statusReason: "DKIM records not yet looked up",
                                   createdAt: now, keys: keys)
        try commit(.addDomain(domain))
        return try view(name)
    }

    /// Starts a rotation: new keys are added as `next`; they take over once a check finds their
    /// records, and the old ones keep verifying for `dkim.rotationGraceDays`.
    func rotate(_ name: String) throws -> View {
        let now = WallClock.nowMillis()
        try commit(.addKeys(name: name.lowercased(), keys: try newKeys(domain: name.lowercased(), state: .next, at: now)))
        return try view(name)
    }

    /// Removes `name` and its keys.
    func remove(_ name: String) throws {
        try commit(.removeDomain(name: name.lowercased(), at: WallClock.nowMillis()))
    }

    /// Sets a tenant's sender policy.
    func setTenant(_ settings: TenantSettings) throws {
        try commit(.setTenant(settings))
    }

    /// Looks up every published key's record through `resolver.nameservers` and commits the result
    /// (verified, still pending, or failing with the reason). A lookup that failed temporarily
    /// (SERVFAIL, timeout) changes nothing and is reported as an error. Returns the domain after.
    func verify(_ rawName: String) throws -> View {
        let name = rawName.lowercased()
        guard let domain = try store.registryRecord(RegistryKeys.domain(name))?.domain else { throw DomainError.notFound(name) }
        let resolver = try DNSResolver(nameservers: config.resolver.nameservers.map(\.description),
                                       timeout: Double(max(config.resolver.timeoutMs, 50)) / 1000, cacheCapacity: 16)
        let now = WallClock.nowMillis()
        var found: [String] = []
        var problems: [String] = []
        for key in domain.publishedKeys(at: now) {
            let owner = DKIMRecord.name(selector: key.selector, domain: name)
            guard let dnsName = try? DNSName(owner) else { continue }
            let outcome = resolver.lookup(dnsName, .txt)
            switch outcome {
            case .failure(let why):
                throw DomainError.temporary("looking up \(owner) failed (\(why)); nothing changed, try again")
            case .nxdomain, .noData:
                if key.state == .active { problems.append("no DKIM record at \(owner)") }
            case .records:
                let texts = DNSResolverCore.texts(from: outcome)
                let expected = DKIMRecord(keyType: key.algorithm == "rsa" ? .rsa : .ed25519,
                                          publicKey: Base64Codec.decodeStrict(Array(key.publicKey.utf8)) ?? [])
                if texts.compactMap(DKIMRecord.init(parsing:)).contains(expected) {
                    found.append(key.selector)
                } else if key.state == .active {
                    problems.append("the record at \(owner) does not publish this key")
                }
            }
        }
        let grace = Int64(config.dkim.rotationGraceDays) * 86_400_000
        try commit(.recordCheck(name: name, found: found, reason: problems.joined(separator: "; "), at: now, graceMillis: grace))
        return try view(name)
    }

    /// Every domain (of `tenant`, when given).
    func list(tenant: String? = nil) throws -> [View] {
        try store.registryRecords(prefix: RegistryKeys.domainPrefix).compactMap(\.domain)
            .filter { tenant == nil || $0.tenant == tenant }
            .map { View(domain: $0, records: records(for: $0)) }
    }

    /// One domain with the records to publish.
    func view(_ name: String) throws -> View {
        guard let d = try store.registryRecord(RegistryKeys.domain(name.lowercased()))?.domain else {
            throw DomainError.notFound(name)
        }
        return View(domain: d, records: records(for: d))
    }

    /// Re-checks every domain (the leader calls this every `dkim.recheckSeconds`). Blocks.
    func recheckAll() {
        let names = ((try? store.registryRecords(prefix: RegistryKeys.domainPrefix)) ?? []).compactMap(\.domain?.name)
        for name in names {
            do {
                let v = try verify(name)
                logger.log(.debug, "dkim.recheck", ["domain": name, "status": v.domain.status.rawValue])
            } catch {
                logger.log(.warning, "dkim.recheck_failed", ["domain": name, "error": "\(error)"])
            }
        }
    }

    // MARK: Acceptance (never blocks for long)

    /// The identities that sign a message whose From header is at `fromDomain`: the verified
    /// domain itself or, when the tenant allows subdomains, its nearest verified parent. Empty when
    /// none.
    func identities(forFromDomain fromDomain: String) -> (domain: SendingDomain, identities: [DKIMSigner.Identity])? {
        let lowered = fromDomain.lowercased()
        var name = lowered
        while RegistryMachine.isDomainName(name) {
            let entry = cached(name)
            if let d = entry.domain, d.signs, !entry.identities.isEmpty {
                if d.name == lowered || tenantSettings(d.tenant).allowSubdomains {
                    return (d, entry.identities)
                }
                return nil
            }
            // A domain name is ASCII, so its first dot byte is its first "." character.
            guard let dot = name.utf8.firstIndex(of: UInt8(ascii: ".")) else { break }
            name = String(name[name.utf8.index(after: dot)...])
        }
        return nil
    }

    /// Why a message from an authenticated `tenant` must be refused under its sender policy
    /// (`enforce`): its envelope sender or From domain is not a verified domain (or allowed
    /// subdomain) of that tenant. nil: it may pass.
    func policyRefusal(tenant: String, envelopeDomain: String?, fromDomain: String?) -> String? {
        let settings = tenantSettings(tenant)
        guard settings.senderPolicy == .enforce else { return nil }
        for (what, domain) in [("envelope sender", envelopeDomain), ("From header", fromDomain)] {
            guard let domain, !domain.isEmpty else {
                if what == "From header" { return "the message has no From address" }
                continue // the null sender <> of a bounce
            }
            guard let d = identities(forFromDomain: domain)?.domain, d.tenant == tenant else {
                return "\(what) domain \(domain) is not a verified sending domain of tenant \(tenant)"
            }
        }
        return nil
    }

    func tenantSettings(_ tenant: String) -> TenantSettings {
        let now = WallClock.nowMillis()
        if let c = tenants.withLock({ $0[tenant] }), now - c.at < cacheMillis {
            return c.settings ?? defaultSettings(tenant)
        }
        let s = (try? store.registryRecord(RegistryKeys.tenant(tenant)))??.tenant
        tenants.withLock { $0[tenant] = (now, s) }
        return s ?? defaultSettings(tenant)
    }

    func defaultSettings(_ tenant: String) -> TenantSettings {
        TenantSettings(name: tenant, senderPolicy: TenantSettings.SenderPolicy(rawValue: config.dkim.defaultSenderPolicy) ?? .signOnly)
    }

    private func cached(_ name: String) -> Entry {
        let now = WallClock.nowMillis()
        if let e = cache.withLock({ $0[name] }), now - e.at < cacheMillis { return e }
        var entry = Entry(at: now, domain: nil, identities: [])
        if let d = (try? store.registryRecord(RegistryKeys.domain(name)))??.domain {
            entry.domain = d
            // Reuse keys already decrypted for this domain when they are the same keys.
            let previous = cache.withLock { $0[name] }
            if let p = previous, p.domain?.activeKeys == d.activeKeys {
                entry.identities = p.identities
            } else {
                entry.identities = d.activeKeys.compactMap { k in
                    do {
                        return DKIMSigner.Identity(domain: d.name, selector: k.selector, key: try unseal(k, domain: d.name))
                    } catch {
                        logger.log(.error, "dkim.key_unusable", ["domain": d.name, "selector": k.selector, "error": "\(error)"])
                        return nil
                    }
                }
                // RSA first, then Ed25519: receivers that know only RSA look at the first.
                entry.identities.sort { $0.key.algorithm == .rsa && $1.key.algorithm != .rsa }
            }
        }
        cache.withLock { $0[name] = entry }
        return entry
    }

    /// The records the built-in DNS responder serves for sending domains inside `zone`: DKIM TXT
    /// for every published key, SPF (an include of the zone, whose apex lists every node), a DMARC
    /// suggestion and the return-path MX. Names are text; never blocks for long (reads the
    /// registry). Any thread.
    func zoneRecords(inside zone: String) -> (txt: [String: [String]], mx: [String: String]) {
        let suffix = "." + zone.lowercased()
        var txt: [String: [String]] = [:]
        var mx: [String: String] = [:]
        let now = WallClock.nowMillis()
        for d in ((try? store.registryRecords(prefix: RegistryKeys.domainPrefix)) ?? []).compactMap(\.domain)
            where d.name == zone.lowercased() || d.name.hasSuffix(suffix) {
            for k in d.publishedKeys(at: now) {
                let record = DKIMRecord(keyType: k.algorithm == "rsa" ? .rsa : .ed25519,
                                        publicKey: Base64Codec.decodeStrict(Array(k.publicKey.utf8)) ?? [])
                txt[DKIMRecord.name(selector: k.selector, domain: d.name), default: []].append(record.text)
            }
            txt[d.name, default: []].append("v=spf1 include:\(zone) ~all")
            txt["_dmarc." + d.name, default: []].append("v=DMARC1; p=none; adkim=r; aspf=r")
            if d.returnPath.hasSuffix(suffix) { mx[d.returnPath] = config.dns?.ingressName ?? zone }
        }
        return (txt, mx)
    }

    // MARK: Keys and records

    private func newKeys(domain: String, state: DKIMKey.State, at now: Int64) throws -> [DKIMKey] {
        try config.dkim.algorithms.map { name in
            let algorithm: SigningKey.Algorithm = name == "rsa" ? .rsa : .ed25519
            return try record(for: try SigningKey.generate(algorithm), selector: Self.newSelector(algorithm),
                              domain: domain, state: state, at: now)
        }
    }

    private func record(for key: SigningKey, selector: String, domain: String, state: DKIMKey.State, at now: Int64) throws -> DKIMKey {
        let sealed = try box.seal(key.privateKeyBytes, context: "\(domain)/\(selector)")
        return DKIMKey(selector: selector, algorithm: key.algorithm.rawValue,
                       publicKey: String(decoding: Base64Codec.encode(key.publicKeyBytes), as: UTF8.self),
                       sealedPrivateKey: String(decoding: Base64Codec.encode(sealed), as: UTF8.self),
                       state: state, createdAt: now)
    }

    private func unseal(_ k: DKIMKey, domain: String) throws -> SigningKey {
        guard let sealed = Base64Codec.decodeStrict(Array(k.sealedPrivateKey.utf8)) else {
            throw DomainError.invalid("sealed key of \(k.selector) is not base64")
        }
        let bytes = try box.open(sealed, context: "\(domain)/\(k.selector)")
        return try SigningKey(algorithm: k.algorithm == "rsa" ? .rsa : .ed25519, privateKeyBytes: bytes)
    }

    /// `sx` + 8 random hex digits + `r` (RSA) or `e` (Ed25519): unique per key, a valid label.
    static func newSelector(_ algorithm: SigningKey.Algorithm) -> String {
        "sx" + Digest.randomBytes(4).map { String(format: "%02x", $0) }.joined() + (algorithm == .rsa ? "r" : "e")
    }

    /// The records the operator publishes for `d`: DKIM keys, SPF, a DMARC suggestion and the
    /// return-path MX.
    func records(for d: SendingDomain) -> [[String: Any]] {
        var out: [[String: Any]] = []
        for k in d.publishedKeys(at: WallClock.nowMillis()) {
            let value = DKIMRecord(keyType: k.algorithm == "rsa" ? .rsa : .ed25519,
                                   publicKey: Base64Codec.decodeStrict(Array(k.publicKey.utf8)) ?? []).text
            out.append(["purpose": "dkim", "type": "TXT", "name": DKIMRecord.name(selector: k.selector, domain: d.name),
                        "value": value, "selector": k.selector, "algorithm": k.algorithm, "state": k.state.rawValue])
        }
        out.append(["purpose": "spf", "type": "TXT", "name": d.name, "value": spfRecord()])
        out.append(["purpose": "dmarc", "type": "TXT", "name": "_dmarc." + d.name,
                    "value": "v=DMARC1; p=none; adkim=r; aspf=r; rua=mailto:dmarc-reports@\(d.name)",
                    "note": "a starting point: move to p=quarantine, then p=reject, once reports show only your mail"])
        let mx = config.dns?.ingressName ?? config.node.hostname
        out.append(["purpose": "return-path", "type": "MX", "name": d.returnPath, "value": "10 \(mx)."])
        return out
    }

    /// SPF for the cluster's sending addresses: an include of the cluster zone when this node serves
    /// one (its apex lists every node), else the configured source addresses.
    func spfRecord() -> String {
        if let zone = config.dns?.zone { return "v=spf1 include:\(zone) ~all" }
        let addresses = config.delivery.sourceAddresses.map { $0.description }
        if addresses.isEmpty { return "v=spf1 a mx ~all" }
        return "v=spf1 " + addresses.map { ($0.contains(":") ? "ip6:" : "ip4:") + $0 }.joined(separator: " ") + " ~all"
    }

    // MARK: Commits

    private func commit(_ command: RegistryCommand) throws {
        switch log.proposeAndWait(.registry(command)) {
        case .success:
            cache.withLock { $0.removeAll() }
            tenants.withLock { $0.removeAll() }
        case .failure(let e) where e.code == .invalidCommand:
            throw DomainError.invalid(e.reason)
        case .failure(let e):
            throw DomainError.temporary(e.description)
        }
    }

    /// Why an operator action failed.
    enum DomainError: OperatorFailure {
        case invalid(String)
        case notFound(String)
        case temporary(String)

        var httpStatus: Int {
            switch self {
            case .invalid: 400
            case .notFound: 404
            case .temporary: 503
            }
        }

        var description: String {
            switch self {
            case .invalid(let s): s
            case .notFound(let s): "no sending domain \(s)"
            case .temporary(let s): s
            }
        }
    }
}
