import Foundation
import Testing
@testable import RelayConfig

@Suite("Embedded default config and generated secrets")
struct EmbeddedDefaultTests {
    @Test("first run creates the data dir, a dev password (stored hashed) and an admin token; second run reuses them")
    func firstAndSecondRun() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let data = dir.path + "/nested/sendarix-data"
        let (config, dev) = try RelayConfig.embeddedDefault(dataDir: data, hashIterations: 100_000)
        #expect(dev.created)
        let password = try #require(dev.password)
        #expect(password.count == 20)
        #expect(config.node.dataDir == data)
        #expect(config.listen.submission == [HostPort("0.0.0.0:587")!])
        #expect(config.listen.smtps == [HostPort("0.0.0.0:465")!])
        #expect(config.listen.admin == HostPort("127.0.0.1:8025"))
        #expect(config.users.map(\.name) == ["dev"])
        #expect(config.tls == nil)
        #expect(config.routes.isEmpty)
        #expect(config.validate().filter { $0.severity == .error }.isEmpty)

        let stored = try String(contentsOfFile: data + "/dev-password", encoding: .utf8)
        #expect(!stored.contains(password))
        #expect(PasswordHasher.verify(password, against: stored.trimmingCharacters(in: .whitespacesAndNewlines)))
        let token = try #require(config.adminToken)
        #expect(token.count == 32)
        let attrs = try FileManager.default.attributesOfItem(atPath: data + "/admin-token")
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let auth = try Authenticator(users: config.users, iterations: 1000)
        #expect(auth.verify(user: "dev", password: password, clientIP: IPAddress("203.0.113.1")) == .success(user: "dev", tenant: "default"))

        let (again, dev2) = try RelayConfig.embeddedDefault(dataDir: data, hashIterations: 100_000)
        #expect(!dev2.created)
        #expect(dev2.password == nil)
        #expect(again.adminToken == token)
        #expect(again.users.first?.passwordHash == config.users.first?.passwordHash)
    }

    @Test("a corrupt dev-password file is reported, not silently replaced")
    func corruptDevPassword() throws {
        let dir = TempDir()
        defer { dir.remove() }
        _ = dir.write("dev-password", "hunter2\n")
        do {
            _ = try RelayConfig.loadOrCreateDevPassword(dataDir: dir.path, hashIterations: 100_000)
            Issue.record("accepted a plain-text dev-password file")
        } catch let e as RelayConfigError {
            #expect(e.code == .io)
            #expect(e.file == dir.path + "/dev-password")
        }
    }

    @Test("random tokens use the unambiguous alphabet and differ between calls")
    func tokens() throws {
        let a = try SecureRandom.token(length: 64), b = try SecureRandom.token(length: 64)
        #expect(a != b)
        #expect(a.count == 64)
        #expect(!a.contains { "0O1lI".contains($0) })
    }

    @Test("a loaded config encodes to JSON that decodes back to an equal config")
    func codableRoundTrip() throws {
        let c = try parseConfig(#"""
        {"node": {"id": "n7", "hostname": "relay.example"},
         "listen": {"submission": ["[::1]:2587"], "admin": null},
         "users": [{"name": "a", "password": "x", "allowedNetworks": ["2001:db8::/32"]}],
         "routes": [{"domain": "t.test", "hosts": ["127.0.0.1:2526"], "tls": "verify"}],
         "dns": {"zone": "r.example", "ingressName": "smtp.r.example", "regions": {"eu": ["192.0.2.0/24"]}},
         "delivery": {"sourceAddresses": ["192.0.2.10"]}, "log": {"level": "debug"}}
        """#)
        #expect(c.listen.admin == nil)
        let encoded = try JSONEncoder().encode(c)
        let back = try JSONDecoder().decode(RelayConfig.self, from: encoded)
        #expect(back == c)
    }

    @Test("JSONDecoder on RelayConfig applies defaults and rejects unknown keys")
    func decoderEntryPoint() throws {
        let c = try JSONDecoder().decode(RelayConfig.self, from: Data(#"{"limits": {"maxRecipients": 200}}"#.utf8))
        #expect(c.limits.maxRecipients == 200)
        #expect(c.limits.maxErrors == 10)
        #expect(throws: RelayConfigError.self) {
            try JSONDecoder().decode(RelayConfig.self, from: Data(#"{"bogus": 1}"#.utf8))
        }
    }
}
