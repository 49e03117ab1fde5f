import Foundation
import Testing
@testable import RelayConfig

@Suite("RelayConfig problems (check-config messages)")
struct RelayConfigProblemTests {
    @Test("an invalid listen address names the key path and the value")
    func badListen() {
        #expect(problems(#"{"listen": {"submission": ["0.0.0.0:587", "0.0.0.0:99999"]}}"#)
                == ["listen.submission[1]: '0.0.0.0:99999' is not a valid host:port"])
        #expect(problems(#"{"listen": {"admin": "localhost"}}"#)
                == ["listen.admin: 'localhost' is not a valid host:port"])
    }

    @Test("unknown keys are errors at every level, with a suggestion for typos")
    func unknownKeys() {
        #expect(problems(#"{"lisen": {}}"#) == ["lisen: unknown key (did you mean 'listen'?)"])
        #expect(problems(#"{"limits": {"maxMesageSize": 10}}"#)
                == ["limits.maxMesageSize: unknown key (did you mean 'maxMessageSize'?)"])
        #expect(problems(#"{"users": [{"name": "a", "password": "p", "colour": "red"}]}"#)
                == ["users[0].colour: unknown key"])
        #expect(problems(#"{"routes": [{"domain": "x.test", "hosts": ["h:25"], "auth": {"username": "u", "passwordFile": "/nonexistent", "pw": 1}}]}"#)
                == ["routes[0].auth.pw: unknown key"])
    }

    @Test("type mismatches say what was expected and what was found")
    func typeErrors() {
        #expect(problems(#"{"limits": {"maxRecipients": "10"}}"#)
                == ["limits.maxRecipients: expected an integer, got string '10'"])
        #expect(problems(#"{"spool": {"fsync": 1}}"#) == ["spool.fsync: expected true or false, got number 1"])
        #expect(problems(#"{"node": {"id": 7}}"#) == ["node.id: expected a string, got number 7"])
        #expect(problems(#"{"listen": {"submission": "0.0.0.0:587"}}"#)
                == ["listen.submission: expected an array, got string '0.0.0.0:587'"])
        #expect(problems(#"{"node": []}"#) == ["node: expected an object, got an array"])
        #expect(problems(#"[]"#) == ["expected an object, got an array"])
        #expect(problems(#"{"limits": {"maxErrors": 2.5}}"#) == ["limits.maxErrors: expected an integer, got number 2.5"])
    }

    @Test("all problems are reported at once, not just the first")
    func allProblems() {
        let p = problems(#"{"node": {"id": ""}, "limits": {"maxRecipients": 0, "maxDataLineLength": 80}, "log": {"level": "loud"}}"#)
        #expect(p == ["log.level: 'loud' is not one of trace, debug, info, notice, warning, error, critical"])
        // Decoding errors stop semantic checks; semantic errors are all listed together.
        let q = problems(#"{"node": {"id": ""}, "limits": {"maxRecipients": 0, "maxDataLineLength": 80}}"#)
        #expect(q == [
            "node.id: '' must be 1-64 letters, digits, '-', '_' or '.'",
            "limits.maxRecipients: 0 is out of range (1...100000)",
            "limits.maxDataLineLength: 80 is out of range (998...1000000)",
        ])
    }

    @Test("limits.messageMemoryMB must be in range and hold one message of limits.maxMessageSize")
    func bodyMemory() throws {
        #expect(problems(#"{"limits": {"messageMemoryMB": 0}}"#) == ["limits.messageMemoryMB: 0 is out of range (1...1048576)"])
        #expect(problems(#"{"limits": {"messageMemoryMB": 10}}"#)
            == ["limits.messageMemoryMB: 10 MiB cannot hold one message of limits.maxMessageSize (52428800 bytes)"])
        #expect(try parseConfig(#"{"limits": {"messageMemoryMB": 10, "maxMessageSize": 10485760}}"#).limits.messageMemoryMB == 10)
        #expect(try parseConfig("{}").limits.messageMemoryMB == 1024)
    }

    @Test("network lists explain bad CIDRs")
    func badNetworks() {
        #expect(problems(#"{"users": [{"name": "a", "password": "p", "allowedNetworks": ["10.0.0.1/8"]}]}"#)
                == ["users[0].allowedNetworks[0]: '10.0.0.1/8' has host bits set (did you mean 10.0.0.0/8?)"])
        #expect(problems(#"{"policy": {"trustedNetworks": ["10.0.0.0/40", "nope"]}}"#) == [
            "policy.trustedNetworks[0]: '10.0.0.0/40' has an invalid prefix length (IPv4 allows /0-/32, IPv6 /0-/128)",
            "policy.trustedNetworks[1]: 'nope' is not an IP address or CIDR network",
        ])
        #expect(problems(#"{"dns": {"zone": "r.example", "ingressName": "smtp.r.example", "regions": {"eu": ["x"]}}}"#)
                == ["dns.regions.eu[0]: 'x' is not an IP address or CIDR network"])
    }

    @Test("users need exactly one of password and passwordHash, unique names and a valid hash")
    func users() {
        #expect(problems(#"{"users": [{"name": "a"}]}"#) == ["users[0]: needs password or passwordHash"])
        #expect(problems(#"{"users": [{"password": "x"}]}"#) == ["users[0].name: is required"])
        #expect(problems(#"{"users": [{"name": "a", "password": "x", "passwordHash": "y"}]}"#)
                == ["users[0]: set either password or passwordHash, not both"])
        #expect(problems(#"{"users": [{"name": "a", "password": "x"}, {"name": "a", "password": "y"}]}"#)
                == ["users[1].name: duplicate user 'a'"])
        #expect(problems(#"{"users": [{"name": "a", "passwordHash": "md5:abc"}]}"#)
                == ["users[0].passwordHash: is not a '$pbkdf2-sha256$i=<iterations>$<salt>$<hash>' hash"])
        #expect(problems(#"{"users": [{"name": "a", "passwordHash": "$pbkdf2-sha256$i=1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}"#)
                == ["users[0].passwordHash: has 1000 PBKDF2 iterations; at least 100000 are required (new hashes use 600000)"])
        #expect(problems(#"{"users": [{"name": "a b", "password": "x"}]}"#)
                == ["users[0].name: 'a b' must be 1-256 characters without spaces"])
    }

    @Test("routes are checked for domain, hosts, TLS mode and contradictions")
    func routes() {
        #expect(problems(#"{"routes": [{"domain": "x.test", "hosts": ["h:25"], "tls": "maybe"}]}"#)
                == ["routes[0].tls: 'maybe' is not one of none, opportunistic, required, verify"])
        #expect(problems(#"{"routes": [{"domain": "x.test"}]}"#) == ["routes[0].hosts: is required"])
        #expect(problems(#"{"routes": [{"domain": "x.test", "hosts": []}]}"#) == ["routes[0].hosts: must list at least one host"])
        #expect(problems(#"{"routes": [{"domain": "not a domain", "hosts": ["h"]}]}"#)
                == ["routes[0].domain: 'not a domain' is not a valid domain (or '*')"])
        #expect(problems(#"{"routes": [{"domain": "x.test", "hosts": ["h"]}, {"domain": "X.test", "hosts": ["h"]}]}"#)
                == ["routes[1].domain: duplicate route for 'x.test'"])
        #expect(problems(#"{"routes": [{"domain": "x.test", "hosts": ["h"], "tls": "none", "implicitTLS": true}]}"#)
                == ["routes[0].implicitTLS: implicit TLS contradicts tls \"none\""])
        #expect(problems(#"{"routes": [{"domain": "x.test", "hosts": ["h:0"]}]}"#)
                == ["routes[0].hosts[0]: port 0 is not a valid destination"])
        #expect(problems(#"{"routes": [{"domain": "*", "hosts": ["relay.example"]}]}"#) == [])
    }

    @Test("listeners may not share an address, and must be IP literals")
    func listenerClashes() {
        #expect(problems(#"{"listen": {"submission": ["0.0.0.0:2525"], "relay": ["0.0.0.0:2525"]}}"#)
                == ["listen.relay[0]: 0.0.0.0:2525 is already used by listen.submission[0]"])
        // Port 0 listeners never clash.
        #expect(problems(#"{"listen": {"submission": ["127.0.0.1:0"], "smtps": ["127.0.0.1:0"], "admin": "127.0.0.1:0"}}"#) == [])
        #expect(problems(#"{"listen": {"relay": ["mx.example:25"]}}"#)
                == ["listen.relay[0]: 'mx.example:25' must be an IP address to bind, not a host name"])
        #expect(problems(#"{"listen": {"admin": "0.0.0.0:8025"}}"#)
                == ["listen.admin: 0.0.0.0:8025 is not loopback; set adminToken or adminTokenFile"])
    }

    @Test("a cluster needs a peer listener and a secret, and peers must not repeat this node")
    func cluster() {
        #expect(problems(#"{"cluster": {"peers": [{"id": "n2", "address": "10.0.0.2:7700"}]}}"#) == [
            "listen.peer: is required when cluster.peers is not empty",
            "cluster.secretFile: is required when cluster.peers is not empty (peer traffic must be authenticated)",
        ])
        let dir = TempDir()
        defer { dir.remove() }
        _ = dir.write("k", "secret-secret-secret")
        #expect(problems(#"{"listen": {"peer": "0.0.0.0:7700"}, "cluster": {"secretFile": "k", "peers": [{"id": "n1", "address": "10.0.0.2:7700"}, {"id": "n3", "address": "10.0.0.3:7700"}, {"id": "n3", "address": "10.0.0.4:7700"}]}}"#, base: dir.path) == [
            "cluster.peers[0].id: 'n1' is this node's own id (node.id); list only the other nodes",
            "cluster.peers[2].id: duplicate peer id 'n3'",
        ])
        #expect(problems(#"{"cluster": {"peers": [{"id": "n2"}]}}"#) == ["cluster.peers[0].address: is required"])
    }

    @Test("referenced files must exist, relative to the config directory")
    func files() {
        let dir = TempDir()
        defer { dir.remove() }
        #expect(problems(#"{"tls": {"certificate": "cert.pem", "privateKey": "key.pem"}}"#, base: dir.path) == [
            "tls.certificate: file '\(dir.path)/cert.pem' does not exist",
            "tls.privateKey: file '\(dir.path)/key.pem' does not exist",
        ])
        #expect(problems(#"{"tls": {"certificate": "cert.pem"}}"#, base: dir.path) == ["tls.privateKey: is required"])
        #expect(problems(#"{"adminTokenFile": "."}"#, base: dir.path) == ["adminTokenFile: '\(dir.path)' is a directory, not a file"])
        _ = dir.write("empty-token", "\n")
        #expect(problems(#"{"adminTokenFile": "empty-token"}"#, base: dir.path)
                == ["adminTokenFile: '\(dir.path)/empty-token' is empty"])
        #expect(problems(#"{"adminToken": "a-long-token-value", "adminTokenFile": "empty-token"}"#, base: dir.path)
                == ["adminTokenFile: set either adminToken or adminTokenFile, not both"])
    }

    @Test("the DNS zone must contain the ingress name and the resolver must use IP addresses")
    func dnsAndResolver() {
        #expect(problems(#"{"dns": {"zone": "relay.example", "ingressName": "smtp.other.example"}}"#)
                == ["dns.ingressName: 'smtp.other.example' is not inside dns.zone 'relay.example'"])
        #expect(problems(#"{"dns": {"zone": "relay.example"}}"#) == ["dns.ingressName: is required"])
        #expect(problems(#"{"dns": {"zone": "relay.example", "ingressName": "relay.example", "ttl": -1}}"#)
                == ["dns.ttl: -1 is out of range (0...86400)"])
        #expect(problems(#"{"resolver": {"nameservers": ["ns.example:53"]}}"#)
                == ["resolver.nameservers[0]: 'ns.example' must be an IP address"])
        #expect(problems(#"{"delivery": {"sourceAddresses": ["10.0.0.300"], "heloName": "bad name"}}"#)
                == ["delivery.sourceAddresses[0]: '10.0.0.300' is not an IP address"])
    }

    @Test("warnings do not stop loading but are reported by check")
    func warnings() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.write("c.json", #"{"spool": {"fsync": false}, "adminToken": "short", "limits": {"maxRecipients": 50}}"#)
        let result = RelayConfig.check(path: path, hashIterations: 1000)
        #expect(result.isValid)
        #expect(result.config != nil)
        #expect(result.problems.map(\.description) == [
            "adminToken: is shorter than 16 characters; use a long random token",
            "limits.maxRecipients: RFC 5321 requires accepting at least 100 recipients",
            "spool.fsync: false: accepted mail can be lost on power failure",
        ])
        #expect(result.problems.allSatisfy { $0.severity == .warning })
    }

    @Test("syntax errors and missing files throw precise errors; check turns them into problems")
    func syntaxAndMissing() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.write("bad.json", "{\n  \"node\": {\"id\": \"n1\",}\n")
        #expect(throws: RelayConfigError.self) { try RelayConfig.load(path: path) }
        do {
            _ = try RelayConfig.load(path: path)
        } catch let e as RelayConfigError {
            #expect(e.code == .syntax)
            #expect(e.file == path)
            #expect(e.reason.hasPrefix("not valid JSON"))
        }
        do {
            _ = try RelayConfig.load(path: dir.path + "/missing.json")
            Issue.record("loaded a missing file")
        } catch let e as RelayConfigError {
            #expect(e.code == .unreadableFile)
        }
        let r = RelayConfig.check(path: dir.path + "/missing.json")
        #expect(!r.isValid)
        #expect(r.problems.map(\.description) == ["cannot read file '\(dir.path)/missing.json'"])
    }

    @Test("an invalid config throws .invalid carrying every error")
    func invalidThrows() {
        do {
            _ = try parseConfig(#"{"limits": {"maxErrors": 0, "maxConnections": 0}}"#)
            Issue.record("accepted invalid config")
        } catch let e as RelayConfigError {
            #expect(e.code == .invalid)
            #expect(e.reason == "invalid configuration (2 errors)")
            #expect(e.description.contains("limits.maxConnections: 0 is out of range"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite("check-config report")
struct CheckReportTests {
    @Test("the report lists each problem with its severity and ends with a summary")
    func report() {
        let dir = TempDir()
        defer { dir.remove() }
        let bad = dir.write("bad.json", #"{"listen": {"smtps": ["1.2.3.4:70000"]}, "spool": {"fsync": false}}"#)
        #expect(RelayConfig.check(path: bad).report(file: "bad.json") == """
        error: listen.smtps[0]: '1.2.3.4:70000' is not a valid host:port
        bad.json: 1 error, 0 warnings
        """)
        let warn = dir.write("warn.json", #"{"spool": {"fsync": false}, "adminToken": "0123456789abcdef"}"#)
        #expect(RelayConfig.check(path: warn, hashIterations: 1000).report(file: "warn.json") == """
        warning: spool.fsync: false: accepted mail can be lost on power failure
        warn.json: OK (1 warning)
        """)
    }
}
