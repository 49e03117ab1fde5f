import Foundation
import Registry
import Testing
@testable import RelayConfig

/// `users[].limits`, `sendingLimits`, `abuse` and `spamFilter` (issue 11): read, defaulted and checked.
@Suite("Limits, abuse and spam filter config")
struct LimitsConfigTests {
    @Test("credential and tenant limits, abuse and spam filter settings are read")
    func read() throws {
        let c = try parseConfig(#"""
        {"users": [{"name": "app", "password": "pw", "tenant": "acme",
                    "limits": {"messagesPerMinute": 100, "recipientsPerMessage": 50, "concurrentConnections": 4}}],
         "sendingLimits": {"syncMillis": 250, "tenants": {"acme": {"messagesPerDay": 5000}}},
         "abuse": {"action": "suspend", "learningHours": 2, "minBurstMessages": 30},
         "spamFilter": {"address": "127.0.0.1:11333", "timeoutMillis": 800, "failOpen": false, "holdScore": 8, "tagScore": null}}
        """#)
        #expect(c.users[0].limits == SendingLimits(messagesPerMinute: 100, recipientsPerMessage: 50, concurrentConnections: 4))
        #expect(c.sendingLimits.syncMillis == 250)
        #expect(c.sendingLimits.tenants["acme"] == SendingLimits(messagesPerDay: 5000))
        #expect(c.abuse.action == .suspend && c.abuse.detectorSettings.learningMillis == 7_200_000)
        #expect(c.abuse.detectorSettings.minBurstMessages == 30)
        let f = try #require(c.spamFilter)
        #expect(f.address.description == "127.0.0.1:11333" && f.timeoutMillis == 800 && !f.failOpen)
        #expect(f.tagScore == nil && f.holdScore == 8 && f.rejectScore == 15)
    }

    @Test("defaults: no limits, abuse alerts as events, no spam filter")
    func defaults() throws {
        let c = try parseConfig(#"{"users": [{"name": "app", "password": "pw"}]}"#)
        #expect(c.users[0].limits == nil && c.sendingLimits.tenants.isEmpty && c.sendingLimits.syncMillis == 500)
        #expect(c.abuse.action == .event && c.spamFilter == nil)
    }

    @Test("bad values are explained")
    func problemsExplained() {
        #expect(problems(#"{"users": [{"name": "a", "password": "p", "limits": {"messagesPerDay": 0}}]}"#)
                == ["users[0].limits.messagesPerDay: must be at least 1 (leave it out for no limit)"])
        #expect(problems(#"{"users": [{"name": "a", "password": "p", "limits": {"mesagesPerDay": 5}}]}"#).first?
                    .hasPrefix("users[0].limits.mesagesPerDay: unknown key") == true)
        #expect(problems(#"{"abuse": {"action": "ban"}}"#) == ["abuse.action: 'ban' is not one of off, event, suspend"])
        #expect(problems(#"{"spamFilter": {"timeoutMillis": 100}}"#) == ["spamFilter.address: is required"])
    }
}
