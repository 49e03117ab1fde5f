import Foundation
import Testing
@testable import RelayConfig

@Suite("RelayConfig delivery section")
struct DeliveryConfigTests {
    @Test("every delivery key is read from the file into the Delivery struct")
    func readsEveryKey() throws {
        let dir = TempDir()
        defer { dir.remove() }
        _ = dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let c = try parseConfig(#"""
        {"delivery": {
          "enabled": true, "maxLifetimeSeconds": 7200, "heloName": "out.relay.example",
          "sourceAddresses": ["192.0.2.10"],
          "connectTimeoutSeconds": 2.5, "commandTimeoutSeconds": 120, "idleTimeoutSeconds": 0,
          "leaseSeconds": 600, "retrySchedule": [2, 30, 600], "retryJitter": 0,
          "notifyByDefault": true, "caFile": "ca.pem", "mxPort": 2525, "maxInFlight": 50, "schedulerPriority": "utility",
          "rateLimitStaticRoutes": true, "brokenTLSSeconds": 60,
          "circuitBreaker": {"failureThreshold": 3, "openSeconds": 30},
          "shaping": {"default": {"maxConnections": 4, "messagesPerSecond": 12.5},
                      "providers": {"google": {"maxConnections": 2, "maxMessagesPerConnection": 10,
                                               "connectionsPerSecond": 0.5, "minimumTLS": "1.3"}}},
          "throttle": {"slowdownFactor": 0.25, "minimumFactor": 0.1, "suspendLevel": 3,
                       "suspendSeconds": 60, "maxSuspendSeconds": 600, "recoverySeconds": 120},
          "warmup": {"dailyCaps": [10, 20], "addresses": [{"address": "192.0.2.11", "startDate": "2026-11-20"}]}
        }}
        """#, base: dir.path)
        let d = c.delivery
        #expect(d.maxLifetimeSeconds == 7200 && d.heloName == "out.relay.example")
        #expect(d.sourceAddresses == [IPAddress("192.0.2.10")!])
        #expect(d.connectTimeoutSeconds == 2.5 && d.commandTimeoutSeconds == 120 && d.idleTimeoutSeconds == 0)
        #expect(d.leaseSeconds == 600 && d.retrySchedule == [2, 30, 600] && d.retryJitter == 0)
        #expect(d.notifyByDefault && d.caFile == dir.path + "/ca.pem")
        #expect(d.mxPort == 2525 && d.maxInFlight == 50 && d.rateLimitStaticRoutes && d.brokenTLSSeconds == 60)
        #expect(d.schedulerPriority == "utility")
        #expect(d.circuitBreaker.failureThreshold == 3 && d.circuitBreaker.openSeconds == 30)
        #expect(d.shaping.all == .init(maxConnections: 4, messagesPerSecond: 12.5))
        #expect(d.shaping.providers == ["google": .init(maxConnections: 2, maxMessagesPerConnection: 10,
                                                        connectionsPerSecond: 0.5, minimumTLS: "1.3")])
        #expect(d.throttle.slowdownFactor == 0.25 && d.throttle.minimumFactor == 0.1 && d.throttle.suspendLevel == 3)
        #expect(d.throttle.suspendSeconds == 60 && d.throttle.maxSuspendSeconds == 600 && d.throttle.recoverySeconds == 120)
        #expect(d.warmup.dailyCaps == [10, 20])
        #expect(d.warmup.addresses.map(\.address) == [IPAddress("192.0.2.11")!])
        // 2026-11-20 is 20,777 days after 1970-01-01.
        #expect(d.warmup.addresses.first?.startSeconds == Double(20_777 * 86_400))
    }

    @Test("an empty delivery section keeps the production defaults")
    func defaults() throws {
        let d = try parseConfig(#"{"delivery": {}}"#).delivery
        #expect(d == RelayConfig.Delivery())
        #expect(d.retrySchedule == [60, 300, 900, 1_800, 3_600, 7_200, 14_400])
        #expect(d.connectTimeoutSeconds == 5 && d.commandTimeoutSeconds == 300 && d.leaseSeconds == 10)
        #expect(!d.notifyByDefault && d.caFile == nil && d.mxPort == 25)
    }

    @Test("out-of-range timeouts, lease, port and retry steps name their key path")
    func ranges() {
        #expect(problems(#"{"delivery": {"connectTimeoutSeconds": 0, "commandTimeoutSeconds": 7200, "idleTimeoutSeconds": -1}}"#) == [
            "delivery.connectTimeoutSeconds: 0 is out of range (0.1...300)",
            "delivery.commandTimeoutSeconds: 7200 is out of range (1...3600)",
            "delivery.idleTimeoutSeconds: -1 is out of range (0...3600)",
        ])
        #expect(problems(#"{"delivery": {"leaseSeconds": 5, "mxPort": 70000, "maxInFlight": 0, "brokenTLSSeconds": -5}}"#) == [
            "delivery.leaseSeconds: 5 is out of range (10...86400)",
            "delivery.mxPort: 70000 is out of range (1...65535)",
            "delivery.maxInFlight: 0 is out of range (1...1000000)",
            "delivery.brokenTLSSeconds: -5 is out of range (0...604800)",
        ])
        #expect(RelayConfig.Delivery().schedulerPriority == "background")
        #expect(problems(#"{"delivery": {"schedulerPriority": "realtime"}}"#)
                == ["delivery.schedulerPriority: 'realtime' is not one of background, utility, default"])
        #expect(problems(#"{"delivery": {"retrySchedule": []}}"#)
                == ["delivery.retrySchedule: must list at least one delay in seconds"])
        #expect(problems(#"{"delivery": {"retrySchedule": [60, 0], "retryJitter": 1.5}}"#) == [
            "delivery.retrySchedule[1]: 0 is out of range (1...2592000)",
            "delivery.retryJitter: 1.5 is out of range (0...1)",
        ])
        #expect(problems(#"{"delivery": {"circuitBreaker": {"failureThreshold": 0, "openSeconds": 0}}}"#) == [
            "delivery.circuitBreaker.failureThreshold: 0 is out of range (1...1000)",
            "delivery.circuitBreaker.openSeconds: 0 is out of range (1...86400)",
        ])
    }

    @Test("wrong types and unknown keys inside delivery are reported with their paths")
    func types() {
        #expect(problems(#"{"delivery": {"retrySchedule": [60, "5m"]}}"#)
                == ["delivery.retrySchedule[1]: expected an integer, got string '5m'"])
        #expect(problems(#"{"delivery": {"connectTimeoutSeconds": "5"}}"#)
                == ["delivery.connectTimeoutSeconds: expected a number, got string '5'"])
        #expect(problems(#"{"delivery": {"notifyByDefault": "yes"}}"#)
                == ["delivery.notifyByDefault: expected true or false, got string 'yes'"])
        #expect(problems(#"{"delivery": {"retrySchedul": [1]}}"#)
                == ["delivery.retrySchedul: unknown key (did you mean 'retrySchedule'?)"])
        #expect(problems(#"{"delivery": {"shaping": {"default": {"maxConnection": 1}}}}"#)
                == ["delivery.shaping.default.maxConnection: unknown key (did you mean 'maxConnections'?)"])
        #expect(problems(#"{"delivery": {"circuitBreaker": {"threshold": 1}}}"#)
                == ["delivery.circuitBreaker.threshold: unknown key"])
    }

    @Test("a missing caFile is an error; decreasing retry steps and a long lease are warnings")
    func caFileAndWarnings() throws {
        #expect(problems(#"{"delivery": {"caFile": "/nonexistent/ca.pem"}}"#)
                == ["delivery.caFile: file '/nonexistent/ca.pem' does not exist"])
        var c = RelayConfig()
        c.delivery.retrySchedule = [600, 60]
        c.delivery.leaseSeconds = 900
        let warnings = c.validate().filter { $0.severity == .warning }.map(\.description)
        #expect(warnings.contains("delivery.retrySchedule: delays are not in increasing order"))
        #expect(warnings.contains { $0.hasPrefix("delivery.leaseSeconds: 900 s: in a cluster, the messages a dead node") })
    }

    @Test("shaping accepts only known providers, positive limits and TLS versions 1.0-1.3")
    func shaping() {
        #expect(problems(#"{"delivery": {"shaping": {"providers": {"gmail": {"maxConnections": 2}}}}}"#) == [
            "delivery.shaping.providers.gmail: 'gmail' is not a known provider (google, microsoft, yahoo, apple, zoho, proton, fastmail, mimecast, proofpoint, other)",
        ])
        #expect(problems(#"{"delivery": {"shaping": {"default": {"maxConnections": 0, "messagesPerSecond": 0, "minimumTLS": "1.4"}}}}"#) == [
            "delivery.shaping.default.maxConnections: 0 is out of range (1...100000)",
            "delivery.shaping.default.messagesPerSecond: 0 is out of range (0.001...1000000)",
            "delivery.shaping.default.minimumTLS: '1.4' is not one of 1.0, 1.1, 1.2, 1.3",
        ])
        #expect(problems(#"{"delivery": {"shaping": {"providers": {"yahoo": {"maxMessagesPerConnection": 0, "connectionsPerSecond": -1}}}}}"#) == [
            "delivery.shaping.providers.yahoo.maxMessagesPerConnection: 0 is out of range (1...1000000)",
            "delivery.shaping.providers.yahoo.connectionsPerSecond: -1 is out of range (0.001...1000000)",
        ])
        #expect(problems(#"{"delivery": {"shaping": {"providers": {"google": 5}}}}"#)
                == ["delivery.shaping.providers.google: expected an object, got number 5"])
    }

    @Test("throttle factors, levels and suspension lengths are checked")
    func throttle() {
        #expect(problems(#"{"delivery": {"throttle": {"slowdownFactor": 1, "minimumFactor": 0, "suspendLevel": 0}}}"#) == [
            "delivery.throttle.slowdownFactor: 1.0 must be between 0 and 1 (exclusive)",
            "delivery.throttle.minimumFactor: 0.0 must be above 0 and at most 1",
            "delivery.throttle.suspendLevel: 0 is out of range (1...100)",
        ])
        #expect(problems(#"{"delivery": {"throttle": {"suspendSeconds": 900, "maxSuspendSeconds": 60, "recoverySeconds": 0}}}"#) == [
            "delivery.throttle.maxSuspendSeconds: 60 is shorter than delivery.throttle.suspendSeconds (900)",
            "delivery.throttle.recoverySeconds: 0 is out of range (1...604800)",
        ])
    }

    @Test("named source pools are read with the routes, users and warm-up addresses that use them")
    func pools() throws {
        let c = try parseConfig(#"""
        {"delivery": {"sourceAddresses": ["192.0.2.1"],
                      "pools": [{"name": "bulk", "addresses": ["192.0.2.2", "2001:db8::2"]}, {"name": "cold-only"}],
                      "warmup": {"addresses": [{"address": "192.0.2.3", "startDate": "2026-11-01", "pool": "cold-only"}]}},
         "users": [{"name": "news", "password": "pw", "pool": "bulk"}],
         "routes": [{"domain": "example.test", "hosts": ["192.0.2.9"], "pool": "bulk"}]}
        """#)
        #expect(c.delivery.pools == [.init(name: "bulk", addresses: [IPAddress("192.0.2.2")!, IPAddress("2001:db8::2")!]),
                                     .init(name: "cold-only", addresses: [])])
        #expect(c.delivery.warmup.addresses.first?.pool == "cold-only")
        #expect(c.users.first?.pool == "bulk")
        #expect(c.routes.first?.pool == "bulk")
        #expect(try parseConfig("{}").delivery.pools.isEmpty)
    }

    @Test("pools need a valid unique name, an address of their own, and every reference must name one")
    func poolProblems() {
        #expect(problems(#"{"delivery": {"pools": [{"name": "default", "addresses": ["192.0.2.1"]}, {"name": "a b", "addresses": ["192.0.2.2"]}]}}"#) == [
            "delivery.pools[0].name: 'default' must be 1-64 letters, digits, '-', '_' or '.', and not 'default'",
            "delivery.pools[1].name: 'a b' must be 1-64 letters, digits, '-', '_' or '.', and not 'default'",
        ])
        #expect(problems(#"{"delivery": {"pools": [{"name": "x", "addresses": ["192.0.2.1"]}, {"name": "x", "addresses": ["192.0.2.2"]}]}}"#)
                == ["delivery.pools[1].name: duplicate pool 'x'"])
        #expect(problems(#"{"delivery": {"sourceAddresses": ["192.0.2.1"], "pools": [{"name": "x", "addresses": ["192.0.2.1"]}]}}"#)
                == ["delivery.pools[0].addresses[0]: 192.0.2.1 is already listed at delivery.sourceAddresses[0]"])
        #expect(problems(#"{"delivery": {"pools": [{"name": "empty", "addresses": []}]}}"#)
                == ["delivery.pools[0].addresses: pool 'empty' has no address (here or in delivery.warmup.addresses)"])
        #expect(problems(#"""
        {"delivery": {"warmup": {"addresses": [{"address": "192.0.2.3", "startDate": "2026-11-01", "pool": "nope"}]}},
         "users": [{"name": "u", "password": "pw", "pool": "nope"}],
         "routes": [{"domain": "example.test", "hosts": ["192.0.2.9"], "pool": "nope"}]}
        """#) == [
            "delivery.warmup.addresses[0].pool: no pool 'nope' in delivery.pools",
            "users[0].pool: no pool 'nope' in delivery.pools",
            "routes[0].pool: no pool 'nope' in delivery.pools",
        ])
    }

    @Test("warm-up addresses need a real date, a valid unique address and daily caps")
    func warmup() {
        #expect(problems(#"{"delivery": {"warmup": {"addresses": [{"address": "192.0.2.1", "startDate": "2026-02-30"}, {"address": "192.0.2.2", "startDate": "20261101"}]}}}"#) == [
            "delivery.warmup.addresses[0].startDate: '2026-02-30' is not a date (YYYY-MM-DD)",
            "delivery.warmup.addresses[1].startDate: '20261101' is not a date (YYYY-MM-DD)",
        ])
        #expect(problems(#"{"delivery": {"sourceAddresses": ["192.0.2.1"], "warmup": {"addresses": [{"address": "192.0.2.1", "startDate": "2026-11-01"}]}}}"#)
                == ["delivery.warmup.addresses[0].address: 192.0.2.1 is already listed at delivery.sourceAddresses[0]"])
        #expect(problems(#"{"delivery": {"warmup": {"addresses": [{"address": "nope", "startDate": "2026-11-01"}, {"startDate": "2026-11-01"}]}}}"#) == [
            "delivery.warmup.addresses[0].address: 'nope' is not an IP address",
            "delivery.warmup.addresses[1].address: is required",
        ])
        #expect(problems(#"{"delivery": {"warmup": {"dailyCaps": [], "addresses": [{"address": "192.0.2.1", "startDate": "2026-11-01"}]}}}"#)
                == ["delivery.warmup.dailyCaps: must list at least one daily cap when warm-up addresses are set"])
        #expect(problems(#"{"delivery": {"warmup": {"dailyCaps": [50, 0]}}}"#)
                == ["delivery.warmup.dailyCaps[1]: 0 is out of range (1...100000000)"])
        #expect(problems(#"{"delivery": {"sourceAddresses": ["192.0.2.1", "192.0.2.1"]}}"#)
                == ["delivery.sourceAddresses[1]: 192.0.2.1 is already listed at delivery.sourceAddresses[0]"])
    }

    @Test("the delivery section survives encoding to JSON and decoding back")
    func roundTrip() throws {
        var c = RelayConfig()
        c.delivery.retrySchedule = [5, 50]
        c.delivery.shaping.all = .init(maxConnections: 3)
        c.delivery.shaping.providers["microsoft"] = .init(minimumTLS: "1.2")
        c.delivery.warmup.addresses = [.init(address: IPAddress("2001:db8::1")!, startDate: "2026-01-31")]
        c.delivery.connectTimeoutSeconds = 1.5
        let data = try JSONEncoder().encode(c)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""default":{"maxConnections":3}"#))
        let back = try JSONDecoder().decode(RelayConfig.self, from: data)
        #expect(back.delivery == c.delivery)
    }
}

@Suite("Admin listener configuration")
struct AdminListenerConfigTests {
    @Test("an admin listener off loopback without TLS is a warning; the read-only token must differ and be long")
    func adminWarnings() throws {
        var c = RelayConfig()
        c.listen.admin = HostPort(host: "192.0.2.10", port: 8025)
        c.adminToken = "operator-token-0123456789"
        #expect(c.validate().contains { $0.severity == .warning && $0.description.hasPrefix("listen.admin:") && $0.description.contains("adminTLS") })
        c.listen.adminTLS = true
        #expect(!c.validate().contains { $0.description.hasPrefix("listen.admin:") })
        c.adminReadOnlyToken = c.adminToken
        #expect(c.validate().contains { $0.severity == .error && $0.description.hasPrefix("adminReadOnlyToken: must differ") })
        c.adminReadOnlyToken = "short"
        #expect(c.validate().contains { $0.severity == .warning && $0.description.hasPrefix("adminReadOnlyToken:") })
    }
}
