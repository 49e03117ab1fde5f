import Foundation
import Testing
@testable import RelayConfig

@Suite("RelayConfig bounces section and sandboxed users")
struct BouncesConfigTests {
    @Test("every bounces key and users[].sandbox are read; absent, the defaults hold")
    func readsEveryKey() throws {
        let c = try parseConfig(#"""
        {"bounces": {"verp": true, "domain": "Bounces.Example.COM", "keyFile": "verp.key",
                     "feedbackAddresses": ["FBL@Example.com"], "suppressComplaints": false,
                     "simulator": {"enabled": false, "domain": "Sim.Example.test", "greylistSeconds": 5,
                                   "slowSeconds": 2, "asyncDelaySeconds": 0}},
         "users": [{"name": "t", "password": "p", "sandbox": true}, {"name": "u", "password": "p"}]}
        """#)
        #expect(c.bounces.verp)
        #expect(c.bounces.domain == "bounces.example.com")
        #expect(c.bounces.keyFile == "/etc/sendarix/verp.key")
        #expect(c.bounces.feedbackAddresses == ["fbl@example.com"])
        #expect(!c.bounces.suppressComplaints)
        #expect(c.bounces.simulator == {
            var s = RelayConfig.Simulator()
            s.enabled = false
            s.domain = "sim.example.test"
            s.greylistSeconds = 5
            s.slowSeconds = 2
            s.asyncDelaySeconds = 0
            return s
        }())
        #expect(c.users.map(\.sandbox) == [true, false])
        let d = try parseConfig("{}")
        #expect(!d.bounces.verp && d.bounces.domain == nil && d.bounces.simulator.domain == "simulator.sendarix.test")
    }

    @Test("bad values and unknown keys are reported with their paths")
    func problemsReported() {
        #expect(problems(#"{"bounces": {"simulator": {"greylistSeconds": -1}}}"#)
                == ["bounces.simulator.greylistSeconds: -1 is out of range (0...86400)"])
        #expect(problems(#"{"bounces": {"feedbackAddresses": ["nobody"]}}"#) == ["bounces.feedbackAddresses: 'nobody' is not an address"])
        #expect(problems(#"{"bounces": {"verb": true}}"#).first?.hasPrefix("bounces.verb") == true)
    }

    @Test("the bounces section and sandbox flags survive encoding to JSON and decoding back")
    func roundTrip() throws {
        var c = RelayConfig()
        c.bounces.verp = true
        c.bounces.feedbackAddresses = ["fbl@example.com"]
        c.bounces.simulator.greylistSeconds = 9
        var user = RelayConfig.User(name: "t", passwordHash: "$pbkdf2-sha256$i=600000$AAAA$BBBB")
        user.sandbox = true
        c.users = [user]
        let back = try JSONDecoder().decode(RelayConfig.self, from: try JSONEncoder().encode(c))
        #expect(back.bounces == c.bounces)
        #expect(back.users.first?.sandbox == true)
    }
}
