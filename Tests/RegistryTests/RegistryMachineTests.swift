import Testing
@testable import Registry

/// The control plane's state machine: domains move pending → verified → failing from check
/// results, rotations take over only once their records are found, bad records are refused.
@Suite("Registry state machine")
struct RegistryMachineTests {
    static func key(_ selector: String, _ state: DKIMKey.State = .active, algorithm: String = "ed25519") -> DKIMKey {
        DKIMKey(selector: selector, algorithm: algorithm, publicKey: "AAAA", sealedPrivateKey: "BBBB", state: state, createdAt: 1)
    }

    static func domain(_ keys: [DKIMKey] = [key("s1", algorithm: "rsa"), key("s2")]) -> SendingDomain {
        SendingDomain(name: "example.test", tenant: "acme", createdAt: 1, keys: keys)
    }

    func apply(_ c: RegistryCommand, _ d: SendingDomain?) -> (RegistryMachine.Transition, SendingDomain?) {
        var current: [String: RegistryRecord] = [:]
        if let d { current[RegistryKeys.domain(d.name)] = .domain(d) }
        let t = RegistryMachine.apply(c, current: current)
        guard t.rejection == nil else { return (t, d) }
        let written = t.writes.first { $0.key == RegistryKeys.domain("example.test") }
        return (t, written == nil ? d : written!.record?.domain)
    }

    @Test("pending → verified when every active key is found; verified → failing with a notice when one goes; back again")
    func statusFlow() {
        var (t, d) = apply(.addDomain(Self.domain()), nil)
        #expect(t.rejection == nil && d?.status == .pending && t.notices.map(\.kind) == [.domainAdded])
        (t, d) = apply(.recordCheck(name: "example.test", found: ["s1"], reason: "", at: 10, graceMillis: 0), d)
        #expect(d?.status == .pending && d?.statusReason.contains("s2") == true && t.notices.isEmpty)
        (t, d) = apply(.recordCheck(name: "example.test", found: ["s1", "s2"], reason: "", at: 20, graceMillis: 0), d)
        #expect(d?.status == .verified && d?.verifiedAt == 20 && t.notices.map(\.kind) == [.domainVerified])
        #expect(d?.signs == true)
        (t, d) = apply(.recordCheck(name: "example.test", found: ["s2"], reason: "no DKIM record at s1._domainkey.example.test", at: 30, graceMillis: 0), d)
        #expect(d?.status == .failing && d?.signs == false && t.notices.map(\.kind) == [.domainFailing])
        #expect(t.notices.first?.reason == "no DKIM record at s1._domainkey.example.test")
        (t, d) = apply(.recordCheck(name: "example.test", found: ["s1", "s2"], reason: "", at: 40, graceMillis: 0), d)
        #expect(d?.status == .verified && d?.verifiedAt == 40 && t.notices.map(\.kind) == [.domainVerified])
    }

    @Test("a rotation takes over only once its records are found; the old keys retire for the grace period, then go")
    func rotation() {
        var (_, d) = apply(.addDomain(Self.domain()), nil)
        (_, d) = apply(.recordCheck(name: "example.test", found: ["s1", "s2"], reason: "", at: 10, graceMillis: 100), d)
        var (t, _) = apply(.addKeys(name: "example.test", keys: [Self.key("s3", .active)]), d)
        #expect(t.rejection != nil) // rotation keys must be 'next'
        (t, d) = apply(.addKeys(name: "example.test", keys: [Self.key("s3", .next, algorithm: "rsa"), Self.key("s4", .next)]), d)
        #expect(t.rejection == nil && d?.nextKeys.count == 2)
        (t, _) = apply(.addKeys(name: "example.test", keys: [Self.key("s5", .next)]), d)
        #expect(t.rejection != nil) // one rotation at a time
        // Only one new record found: nothing changes hands.
        (t, d) = apply(.recordCheck(name: "example.test", found: ["s1", "s2", "s3"], reason: "", at: 20, graceMillis: 100), d)
        #expect(d?.activeKeys.map(\.selector) == ["s1", "s2"])
        (t, d) = apply(.recordCheck(name: "example.test", found: ["s1", "s2", "s3", "s4"], reason: "", at: 30, graceMillis: 100), d)
        #expect(d?.activeKeys.map(\.selector) == ["s3", "s4"] && t.notices.map(\.kind) == [.keysRotated])
        #expect(d?.keys.filter { $0.state == .retired }.map(\.retiresAt) == [130, 130])
        #expect(d?.publishedKeys(at: 129).count == 4 && d?.publishedKeys(at: 130).count == 2)
        (t, d) = apply(.recordCheck(name: "example.test", found: ["s3", "s4"], reason: "", at: 131, graceMillis: 100), d)
        #expect(d?.keys.map(\.selector) == ["s3", "s4"] && d?.status == .verified)
    }

    @Test("invalid domains, keys and duplicates are refused; remove needs the domain")
    func refusals() {
        #expect(apply(.addDomain(SendingDomain(name: "nodot", tenant: "a", createdAt: 1, keys: [Self.key("s")])), nil).0.rejection != nil)
        #expect(apply(.addDomain(SendingDomain(name: "Upper.test", tenant: "a", createdAt: 1, keys: [Self.key("s")])), nil).0.rejection != nil)
        #expect(apply(.addDomain(SendingDomain(name: "x.test", tenant: "", createdAt: 1, keys: [Self.key("s")])), nil).0.rejection != nil)
        #expect(apply(.addDomain(SendingDomain(name: "x.test", tenant: "a", createdAt: 1, keys: [])), nil).0.rejection != nil)
        #expect(apply(.addDomain(SendingDomain(name: "x.test", tenant: "a", createdAt: 1, keys: [Self.key("bad selector")])), nil).0.rejection != nil)
        #expect(apply(.addDomain(SendingDomain(name: "x.test", tenant: "a", createdAt: 1, keys: [Self.key("s"), Self.key("s")])), nil).0.rejection != nil)
        let (_, d) = apply(.addDomain(Self.domain()), nil)
        #expect(apply(.addDomain(Self.domain()), d).0.rejection != nil)
        #expect(apply(.removeDomain(name: "example.test", at: 5), nil).0.rejection != nil)
        let (t, gone) = apply(.removeDomain(name: "example.test", at: 5), d)
        #expect(t.rejection == nil && gone == nil && t.notices.map(\.kind) == [.domainRemoved])
    }

    @Test("commands and records survive their JSON encoding")
    func codec() throws {
        let commands: [RegistryCommand] = [
            .addDomain(Self.domain()), .removeDomain(name: "example.test", at: 3),
            .recordCheck(name: "example.test", found: ["s1"], reason: "r", at: 4, graceMillis: 5),
            .addKeys(name: "example.test", keys: [Self.key("s9", .next)]),
            .setTenant(TenantSettings(name: "acme", senderPolicy: .enforce, allowSubdomains: false)),
        ]
        for c in commands { #expect(try RegistryCommand(decoding: c.encoded()) == c) }
        #expect(try RegistryRecord(decoding: RegistryRecord.domain(Self.domain()).encoded()) == .domain(Self.domain()))
        #expect(throws: (any Error).self) { try RegistryCommand(decoding: Array("{\"nope\":1}".utf8)) }
    }
}
