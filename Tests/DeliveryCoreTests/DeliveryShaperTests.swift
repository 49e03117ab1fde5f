import Testing
import DeliveryCore

@Suite("Delivery shaper")
struct DeliveryShaperTests {
    let google = DeliveryShaper.Key(.google, "192.0.2.10")

    @Test("connections are capped at the provider's limit and freed when they close")
    func connectionLimit() {
        var shaper = DeliveryShaper(configuration: .init(all: .init(connectionsPerSecond: 100)))
        for _ in 0..<5 {
            let admission = shaper.requestConnection(for: google, now: 0)
            #expect(admission == .allowed)
        }
        let sixth = shaper.requestConnection(for: google, now: 0)
        #expect(sixth == .atConnectionLimit, "Google allows 5 connections")
        #expect(shaper.openConnections(for: google) == 5)
        shaper.connectionClosed(for: google)
        let again = shaper.requestConnection(for: google, now: 0)
        #expect(again == .allowed)
        #expect(shaper.maxMessagesPerConnection(for: google) == 50)
    }

    @Test("the message rate is enforced with a wait time")
    func messageRate() {
        var shaper = DeliveryShaper(configuration: .init(providers: ["google": .init(messagesPerSecond: 2)]))
        let first = shaper.requestMessage(for: google, now: 0)
        let second = shaper.requestMessage(for: google, now: 0)
        let third = shaper.requestMessage(for: google, now: 0)
        #expect(first == .allowed && second == .allowed)
        #expect(third == .wait(until: 0.5))
        let later = shaper.requestMessage(for: google, now: 0.5)
        #expect(later == .allowed)
    }

    @Test("the connection rate is enforced with a wait time")
    func connectionRate() {
        var shaper = DeliveryShaper(configuration: .init(all: .init(connectionsPerSecond: 1)))
        let first = shaper.requestConnection(for: google, now: 0)
        let second = shaper.requestConnection(for: google, now: 0)
        #expect(first == .allowed)
        #expect(second == .wait(until: 1))
    }

    @Test("rate-limit deferrals slow the provider for that IP and a suspension blocks everything")
    func throttled() {
        var shaper = DeliveryShaper(configuration: .init(all: .init(messagesPerSecond: 10, connectionsPerSecond: 100)))
        let deferral = BounceClassification(.rateLimited, .soft, rule: "test")
        shaper.record(deferral, for: google, now: 0)
        #expect(shaper.policy(for: google, now: 1)?.messagesPerSecond == 5)
        #expect(shaper.policy(for: google, now: 1)?.maxConnections == 2)
        _ = shaper.requestConnection(for: google, now: 1)
        _ = shaper.requestConnection(for: google, now: 1)
        let third = shaper.requestConnection(for: google, now: 1)
        #expect(third == .atConnectionLimit)
        shaper.record(BounceClassification(.reputationBlock, .hard, rule: "test"), for: google, now: 100)
        let suspended = shaper.requestMessage(for: google, now: 101)
        guard case .suspended(let until) = suspended else {
            Issue.record("expected suspension, got \(suspended)")
            return
        }
        #expect(until > 101)
        let other = shaper.requestMessage(for: DeliveryShaper.Key(.google, "192.0.2.11"), now: 101)
        #expect(other == .allowed, "another source IP is unaffected")
    }

    @Test("pruning forgets idle keys but keeps open connections")
    func prune() {
        var shaper = DeliveryShaper()
        _ = shaper.requestConnection(for: google, now: 0)
        _ = shaper.requestMessage(for: DeliveryShaper.Key(.yahoo, "192.0.2.10"), now: 0)
        shaper.prune(now: 10)
        #expect(shaper.openConnections(for: google) == 1)
    }
}
