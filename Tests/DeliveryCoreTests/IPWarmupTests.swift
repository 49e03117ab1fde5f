import Testing
import DeliveryCore
import SendarixSupport

@Suite("IP warm-up and MX selection")
struct IPWarmupTests {
    let day: Double = 86_400

    func makeWarmup() -> IPWarmup {
        var warmup = IPWarmup(dailyCaps: [2, 4])
        warmup.setPool("main", [
            IPWarmup.SourceIP("192.0.2.1"),
            IPWarmup.SourceIP("192.0.2.2", warmupStartedAt: 10 * 86_400),
        ])
        return warmup
    }

    @Test("a cold IP's daily cap follows the schedule and it is warm after the last day")
    func caps() {
        let warmup = makeWarmup()
        let cold = IPWarmup.SourceIP("192.0.2.2", warmupStartedAt: 10 * day)
        #expect(warmup.dailyCap(of: cold, now: 10 * day + 5) == 2)
        #expect(warmup.dailyCap(of: cold, now: 11 * day + 5) == 4)
        #expect(warmup.dailyCap(of: cold, now: 12 * day) == nil)
        #expect(warmup.isCold(cold, now: 10 * day))
        #expect(!warmup.isCold(IPWarmup.SourceIP("192.0.2.1"), now: 10 * day))
    }

    @Test("the least loaded IP is chosen, a capped cold IP is skipped until the next day")
    func chooseRespectsCaps() {
        var warmup = makeWarmup()
        let now = 10 * day + 100
        #expect(warmup.choose(pool: "main", provider: .google, now: now) == "192.0.2.1")
        warmup.recordSent("192.0.2.1", now: now, count: 10_000)
        #expect(warmup.choose(pool: "main", provider: .google, now: now) == "192.0.2.2")
        warmup.recordSent("192.0.2.2", now: now, count: 2)
        #expect(warmup.sentToday("192.0.2.2", now: now) == 2)
        #expect(warmup.choose(pool: "main", provider: .google, now: now) == "192.0.2.1")
        warmup.block("192.0.2.1", for: .google, until: now + 60)
        #expect(warmup.choose(pool: "main", provider: .google, now: now) == nil, "warm IP blocked and cold IP at cap")
        #expect(warmup.sentToday("192.0.2.2", now: now + day) == 0)
        #expect(warmup.choose(pool: "main", provider: .google, now: now + day, excluding: ["192.0.2.1"]) == "192.0.2.2")
    }

    @Test("cold IPs never take failover traffic")
    func coldNoFailover() {
        var warmup = makeWarmup()
        let now = 10 * day
        warmup.block("192.0.2.1", for: .yahoo, until: now + 3600)
        #expect(warmup.choose(pool: "main", provider: .yahoo, now: now) == "192.0.2.2")
        #expect(warmup.choose(pool: "main", provider: .yahoo, now: now, isFailover: true) == nil)
        #expect(warmup.choose(pool: "main", provider: .yahoo, now: now + 3600, isFailover: true) == "192.0.2.1")
    }

    @Test("a deprioritised IP is used only when nothing else can send")
    func deprioritised() {
        var warmup = IPWarmup()
        warmup.setPool("p", [IPWarmup.SourceIP("198.51.100.1"), IPWarmup.SourceIP("198.51.100.2")])
        warmup.recordSent("198.51.100.2", now: 0, count: 500)
        warmup.deprioritise("198.51.100.1", for: .microsoft, until: 1000)
        #expect(warmup.choose(pool: "p", provider: .microsoft, now: 0) == "198.51.100.2")
        #expect(warmup.choose(pool: "p", provider: .google, now: 0) == "198.51.100.1")
        #expect(warmup.choose(pool: "p", provider: .microsoft, now: 0, excluding: ["198.51.100.2"]) == "198.51.100.1")
        warmup.clear("198.51.100.1", for: .microsoft)
        #expect(warmup.choose(pool: "p", provider: .microsoft, now: 0) == "198.51.100.1")
        #expect(warmup.choose(pool: "missing", provider: .microsoft, now: 0) == nil)
    }

    @Test("MX hosts are ordered by preference with equal preferences shuffled")
    func mxOrder() {
        let targets = [
            MXSelection.Target(host: "c", preference: 20), MXSelection.Target(host: "a1", preference: 10),
            MXSelection.Target(host: "a2", preference: 10), MXSelection.Target(host: "a3", preference: 10),
            MXSelection.Target(host: "b", preference: 15),
        ]
        var generator = SplitMix64(seed: 9)
        var firsts = Set<String>()
        for _ in 0..<50 {
            let ordered = MXSelection.order(targets, using: &generator)
            #expect(ordered.map(\.preference) == [10, 10, 10, 15, 20])
            #expect(Set(ordered.prefix(3).map(\.host)) == ["a1", "a2", "a3"])
            firsts.insert(ordered[0].host)
        }
        #expect(firsts.count == 3, "every equal-preference host comes first sometimes")
    }

    @Test("plans: implicit MX, null MX, dedup, and dropping hosts not better than ourselves")
    func mxPlan() {
        var generator = SplitMix64(seed: 1)
        #expect(MXSelection.plan(domain: "Example.COM.", records: [], using: &generator) == .implicit(host: "example.com"))
        #expect(MXSelection.plan(domain: "x", records: [.init(host: ".", preference: 0)], using: &generator) == .nullMX)
        let plan = MXSelection.plan(domain: "example.com", records: [
            .init(host: "MX1.example.com.", preference: 10), .init(host: "mx1.example.com", preference: 5),
            .init(host: "relay.us.example", preference: 20), .init(host: "mx3.example.com", preference: 30),
        ], localHostnames: ["relay.us.example"], using: &generator)
        #expect(plan == .hosts([.init(host: "mx1.example.com", preference: 5)]))
        let loop = MXSelection.plan(domain: "example.com", records: [.init(host: "relay.us.example", preference: 10)],
                                    localHostnames: ["relay.us.example"], using: &generator)
        #expect(loop == .loopsBackToUs)
    }
}
