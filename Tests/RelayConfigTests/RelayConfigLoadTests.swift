import Foundation
import Testing
@testable import RelayConfig

@Suite("RelayConfig loading")
struct RelayConfigLoadTests {
    @Test("an empty object yields every documented default")
    func defaults() throws {
        let c = try parseConfig("{}")
        #expect(c.node.id == "n1")
        #expect(c.node.dataDir == "/etc/sendarix/sendarix-data")
        #expect(c.listen.submission == [HostPort(host: "0.0.0.0", port: 587)])
        #expect(c.listen.smtps == [HostPort(host: "0.0.0.0", port: 465)])
        #expect(c.listen.admin == HostPort(host: "127.0.0.1", port: 8025))
        #expect(c.limits.maxMessageSize == 52_428_800)
        #expect(c.limits.maxRecipients == 1000)
        #expect(c.timeouts.command == 300)
        #expect(c.spool.fsync)
        #expect(c.delivery.maxLifetimeSeconds == 432_000)
        #expect(c.log.level == .info)
        #expect(c.tls == nil)
        #expect(c.dns == nil)
    }

    @Test("the design document's example config loads with paths resolved and passwords hashed")
    func designExample() throws {
        let dir = TempDir()
        defer { dir.remove() }
        _ = dir.write("cert.pem", "x")
        _ = dir.write("key.pem", "x")
        _ = dir.write("cluster.key", "s3cret-s3cret-s3cret\n")
        let path = dir.write("sendarix.json", """
        {
          "node":   { "id": "n1", "region": "eu", "hostname": "n1.relay.example", "dataDir": "data" },
          "listen": { "submission": ["0.0.0.0:587"], "smtps": ["0.0.0.0:465"], "relay": [],
                      "admin": "127.0.0.1:8025", "dns": [], "peer": "0.0.0.0:7700" },
          "tls":    { "certificate": "cert.pem", "privateKey": "key.pem" },
          "cluster":{ "peers": [ { "id": "n2", "address": "10.0.0.2:7700", "region": "eu" } ],
                      "secretFile": "cluster.key" },
          "users":  [ { "name": "app", "password": "pw-app", "tenant": "acme", "allowedNetworks": ["10.0.0.0/8"] } ],
          "routes": [ { "domain": "Example.TEST", "hosts": ["127.0.0.1:2526"], "tls": "none" } ],
          "resolver": { "nameservers": ["127.0.0.1:5353", "127.0.0.2"] },
          "adminToken": "change-me-please-long",
          "dns":    { "zone": "relay.example", "ingressName": "smtp.relay.example", "ttl": 60,
                      "regions": { "eu": ["192.0.2.0/24"] } }
        }
        """)
        let c = try RelayConfig.load(path: path, hashIterations: 1000)
        #expect(c.node.dataDir == dir.path + "/data")
        #expect(c.tls == RelayConfig.TLS(certificate: dir.path + "/cert.pem", privateKey: dir.path + "/key.pem"))
        #expect(c.cluster.secret == "s3cret-s3cret-s3cret")
        #expect(c.cluster.peers == [RelayConfig.Peer(id: "n2", address: HostPort("10.0.0.2:7700")!, region: "eu")])
        #expect(c.users.count == 1)
        #expect(c.users[0].password == nil)
        let hash = try #require(c.users[0].passwordHash)
        #expect(PasswordHasher.verify("pw-app", against: hash))
        #expect(c.users[0].allowedNetworks == [IPNetwork("10.0.0.0/8")!])
        #expect(c.routes[0].domain == "example.test")
        #expect(c.routes[0].tls == RelayConfig.RouteTLS.none)
        #expect(c.resolver.nameservers == [HostPort("127.0.0.1:5353")!, HostPort("127.0.0.2:53")!])
        #expect(c.dns?.regions["eu"] == [IPNetwork("192.0.2.0/24")!])
    }
}
