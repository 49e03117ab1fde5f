import Foundation
import Testing
@testable import Registry

/// SMTP credentials in the control plane: created only inside an existing tenant, rotated with a
/// grace period, suspended, revoked, last use and rehashes recorded.
@Suite("Registry credentials")
struct CredentialMachineTests {
    static let tenant = TenantSettings(name: "acme")

    static func credential(_ name: String = "app1", hash: String = "h1") -> Credential {
        Credential(username: name, tenant: "acme", passwords: [Credential.Password(hash: hash, createdAt: 1)], createdAt: 1)
    }

    /// Applies `c` to the stored `record` (and the tenant acme); returns the transition and the credential after.
    func apply(_ c: CredentialCommand, _ record: Credential?, tenant: Bool = true) -> (RegistryMachine.Transition, Credential?) {
        var current: [String: RegistryRecord] = [:]
        if let record { current[RegistryKeys.credential(record.username)] = .credential(record) }
        if tenant { current[RegistryKeys.tenant("acme")] = .tenant(Self.tenant) }
        let t = RegistryMachine.apply(.credential(c), current: current)
        guard t.rejection == nil else { return (t, record) }
        guard let w = t.writes.first(where: { $0.key == RegistryKeys.credential(c.username) }) else { return (t, record) }
        return (t, w.record?.credential)
    }

    @Test("a credential is added only inside an existing tenant and under a free, valid user name")
    func add() {
        #expect(apply(.add(Self.credential()), nil, tenant: false).0.rejection?.contains("no tenant acme") == true)
        let (t, c) = apply(.add(Self.credential()), nil)
        #expect(t.rejection == nil && c == Self.credential())
        #expect(apply(.add(Self.credential()), Self.credential()).0.rejection?.contains("taken") == true)
        #expect(apply(.add(Self.credential("bad name")), nil).0.rejection != nil)
        var upper = Self.credential()
        upper.allowedSenderDomains = ["Example.com"]
        #expect(apply(.add(upper), nil).0.rejection?.contains("lower-case") == true)
    }

    @Test("rotation keeps the old password valid until the grace period ends, then only the new one")
    func rotate() {
        let (t, c) = apply(.rotate(username: "app1", hash: "h2", at: 100, graceUntil: 1_100), Self.credential())
        #expect(t.rejection == nil)
        #expect(c?.validPasswords(at: 500).map(\.hash) == ["h1", "h2"])
        #expect(c?.validPasswords(at: 1_100).map(\.hash) == ["h2"])
        // A second rotation drops passwords already expired and shortens the grace of the others.
        let (_, c2) = apply(.rotate(username: "app1", hash: "h3", at: 1_200, graceUntil: 2_000), c)
        #expect(c2?.passwords.map(\.hash) == ["h2", "h3"] && c2?.passwords.first?.expiresAt == 2_000)
    }

    @Test("suspend records the reason, resume clears it; update keeps passwords, state and usage")
    func stateAndUpdate() {
        let (_, s) = apply(.setState(username: "app1", state: .suspended, reason: "leaked", at: 5), Self.credential())
        #expect(s?.state == .suspended && s?.stateReason == "leaked")
        var changed = Self.credential(hash: "other")
        changed.allowedSenderDomains = ["example.com"]
        changed.environment = "staging"
        let (_, u) = apply(.update(changed), s)
        #expect(u?.allowedSenderDomains == ["example.com"] && u?.environment == "staging")
        #expect(u?.passwords.map(\.hash) == ["h1"] && u?.state == .suspended)
        let (_, r) = apply(.setState(username: "app1", state: .active, reason: "", at: 6), u)
        #expect(r?.state == .active && r?.stateReason == "")
    }

    @Test("revocation needs the right tenant and deletes the record; later uses change nothing")
    func remove() {
        #expect(apply(.remove(username: "app1", tenant: "other", at: 5), Self.credential()).0.rejection != nil)
        let (t, c) = apply(.remove(username: "app1", tenant: "acme", at: 5), Self.credential())
        #expect(t.rejection == nil && t.writes.count == 1 && c == nil)
        let (t2, _) = apply(.used(username: "app1", at: 9, ip: "127.0.0.1"), nil)
        #expect(t2.rejection == nil && t2.writes.isEmpty)
    }

    @Test("last use moves only forward; a rehash replaces only the hash it names")
    func usedAndRehash() {
        let (_, c) = apply(.used(username: "app1", at: 50, ip: "10.0.0.1"), Self.credential())
        #expect(c?.lastUsedAt == 50 && c?.lastUsedIP == "10.0.0.1")
        let (t, c2) = apply(.used(username: "app1", at: 40, ip: "10.0.0.2"), c)
        #expect(t.writes.isEmpty && c2?.lastUsedIP == "10.0.0.1")
        let (_, r) = apply(.rehash(username: "app1", old: "h1", new: "h1-strong"), c)
        #expect(r?.passwords.map(\.hash) == ["h1-strong"])
        let (t3, _) = apply(.rehash(username: "app1", old: "gone", new: "x"), r)
        #expect(t3.writes.isEmpty)
    }

    @Test("tenant settings written before limits existed still decode; commands round-trip through JSON")
    func compatibility() throws {
        let old = #"{"tenant":{"_0":{"allowSubdomains":true,"name":"acme","senderPolicy":"enforce"}}}"#
        let record = try RegistryRecord(decoding: Array(old.utf8))
        #expect(record.tenant?.limits == nil && record.tenant?.senderPolicy == .enforce)
        let command = RegistryCommand.credential(.rotate(username: "app1", hash: "h", at: 1, graceUntil: 2))
        #expect(try RegistryCommand(decoding: command.encoded()) == command)
        var c = Self.credential()
        c.limits = SendingLimits(messagesPerMinute: 10)
        #expect(try RegistryRecord(decoding: RegistryRecord.credential(c).encoded()) == .credential(c))
    }
}
