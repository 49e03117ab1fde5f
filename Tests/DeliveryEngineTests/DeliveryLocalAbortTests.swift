import DeliveryCore
import DeliveryEngine
import Foundation
import SpoolStore
import Synchronization
import Testing

/// Attempts this node ends itself (its delivery lease ran out before the body could leave: a slow
/// commit, a leader change, a partition) say nothing about the receiver: they are retried after
/// the short local delay, not the retry steps, and leave the receiver's breaker, parking and
/// warm-up counts alone. The engine's clock is a `TestClock` moved forward instead of waiting.
@Suite("Delivery local aborts")
struct DeliveryLocalAbortTests {
    /// A 10 s lease (5 s commit margin), a first retry step of 10 minutes, a 1 s local retry.
    static func options(_ clock: TestClock) -> DeliveryEngine.Options {
        var options = EngineHarness.testOptions()
        options.leaseSeconds = 10
        options.retrySteps = [600]
        options.localRetrySeconds = 1
        options.clock = clock.read
        return options
    }

    /// A harness delivering `dest.test` to `server` (on `ip`) through a `LaggingLog`, and that log.
    static func harness(_ server: FakeSMTPServer, ip: String, clock: TestClock, options: DeliveryEngine.Options,
                        claimLagMillis: Int64 = 0, refuseRenewals: Bool = false) throws -> (EngineHarness, LaggingLog) {
        let box = Mutex<LaggingLog?>(nil)
        let config = EngineHarness.config(routes: [EngineHarness.route("dest.test", [server.port], host: ip)])
        let h = try EngineHarness(config: config, options: options, wrapLog: { base in
            let log = LaggingLog(base: base, clock: clock, claimLagMillis: claimLagMillis, refuseRenewals: refuseRenewals)
            box.withLock { $0 = log }
            return log
        })
        return (h, try #require(box.withLock { $0 }))
    }

    /// A receiver whose first DATA is answered after the engine's clock moved 6 s: 4 s of the 10 s
    /// lease are left when the body is due to leave, below the 5 s commit margin.
    static func leaseRunsLowAtData(_ clock: TestClock, ip: String) throws -> FakeSMTPServer {
        try FakeSMTPServer(behavior: .init(script: { step in
            if step.verb == "DATA", step.connection == 1 { clock.advance(millis: 6_000) }
            return nil
        }), ip: ip)
    }

    /// The first outcome proposed for `id`: its attempt, deferral delay (ms) and first result.
    static func firstDeferral(_ log: LaggingLog, _ id: String) throws -> (attempt: UInt32, delayMillis: Int64,
                                                                           result: SpoolCommand.RecipientResult) {
        let outcome = try #require(log.outcomes(id).first)
        let result = try #require(outcome.results.first)
        guard case .deferred(let until) = result.disposition else {
            Issue.record("first outcome of \(id) is not a deferral: \(result)")
            return (outcome.attempt, .max, result)
        }
        return (outcome.attempt, until - outcome.timestamp, result)
    }

    @Test("a claim that commits too late to send ends the attempt here: retried after the local delay, not the retry steps, and the receiver is not contacted")
    func lateClaimRetriesSoon() throws {
        let server = try FakeSMTPServer(ip: "127.99.0.11")
        defer { server.stop() }
        let clock = TestClock()
        // The claim reaches the engine 6 s late: 4 s of the lease left, below the 5 s margin.
        let (h, log) = try Self.harness(server, ip: "127.99.0.11", clock: clock, options: Self.options(clock),
                                        claimLagMillis: 6_000)
        defer { h.shutdown() }
        h.enqueue("c1", to: ["a@dest.test"])
        let events = h.waitForOutcome("c1", type: .delivered)
        #expect(events.map(\.type) == [.deferred, .delivered], "\(h.logText)")
        #expect(events.last?.attempt == 2)
        let first = try Self.firstDeferral(log, "c1")
        #expect(first.attempt == 1)
        // The local delay (1 s, no jitter), not the first retry step (600 s).
        #expect(first.delayMillis <= 1_000)
        #expect(first.result.response.contains("lease expired before sending"))
        #expect(first.result.response.contains("local to this relay"))
        #expect(first.result.remoteHost.isEmpty)
        #expect(first.result.bounceClass == "timeout")
        #expect(h.logText.contains("delivery.local_abort") && h.logText.contains("reason=lease-expired-before-sending"))
        // Only the second attempt reached the receiver.
        #expect(server.connectionCount == 1)
        #expect(server.messages.count == 1)
    }

    @Test("when the lease runs low during a failover, the failed host's answer is what the attempt records, on the usual retry schedule")
    func failoverFailureKeptWhenLeaseRunsLow() throws {
        // The first host answers EHLO with 421 after the engine's clock moved 6 s; the second is
        // never tried: 4 s of the lease are left, below the 5 s margin.
        let clock = TestClock()
        let failing = try FakeSMTPServer(behavior: .init(script: { step in
            guard step.verb == "EHLO" else { return nil }
            clock.advance(millis: 6_000)
            return .line("421 4.3.2 service shutting down")
        }), ip: "127.99.0.15")
        let spare = try FakeSMTPServer(ip: "127.99.0.15")
        defer { failing.stop(); spare.stop() }
        let config = EngineHarness.config(routes: [EngineHarness.route("dest.test", [failing.port, spare.port], host: "127.99.0.15")])
        let box = Mutex<LaggingLog?>(nil)
        let h = try EngineHarness(config: config, options: Self.options(clock), wrapLog: { base in
            let log = LaggingLog(base: base, clock: clock)
            box.withLock { $0 = log }
            return log
        })
        defer { h.shutdown() }
        let log = try #require(box.withLock { $0 })
        h.enqueue("f1", to: ["a@dest.test"])
        #expect(h.waitForOutcome("f1").first?.type == .deferred, "\(h.logText)")
        let first = try Self.firstDeferral(log, "f1")
        #expect(first.result.response.contains("421"), "\(first.result.response)")
        #expect(!first.result.response.contains("local to this relay"))
        // The first retry step (600 s), not the local delay (1 s).
        #expect(first.delayMillis >= 500_000, "\(first.delayMillis)")
        #expect(spare.records.withLock { $0.connections } == 0)
    }

    @Test("a sender who asked NOTIFY=DELAY gets no delay notice for an attempt this node ended itself")
    func noDelayNoticeForLocalAbort() throws {
        let server = try FakeSMTPServer(ip: "127.99.0.14")
        defer { server.stop() }
        let clock = TestClock()
        let (h, _) = try Self.harness(server, ip: "127.99.0.14", clock: clock, options: Self.options(clock),
                                      claimLagMillis: 6_000)
        defer { h.shutdown() }
        h.enqueue("n1", to: ["a@dest.test"], notify: [.delay, .failure])
        let events = h.waitForOutcome("n1", type: .delivered)
        #expect(events.map(\.type) == [.deferred, .delivered], "\(h.logText)")
        h.settle()
        #expect(try h.store.message(id: "n1-dsn1") == nil, "a delay notice was queued for a local abort")
        #expect(h.outcomes("n1-dsn1").isEmpty)
    }

    @Test("a body held back because the lease ran low is retried after the local delay; the host's breaker and its destination stay open for it")
    func heldBackBodyRetriesSoon() throws {
        let clock = TestClock()
        let server = try Self.leaseRunsLowAtData(clock, ip: "127.99.0.12")
        defer { server.stop() }
        var options = Self.options(clock)
        // One connection failure would open the only host's breaker for 10 minutes (and park the destination).
        options.breakerThreshold = 1
        options.breakerOpenSeconds = 600
        // Renewals never commit: the lease stays as low as the clock made it.
        let (h, log) = try Self.harness(server, ip: "127.99.0.12", clock: clock, options: options, refuseRenewals: true)
        defer { h.shutdown() }
        h.enqueue("b1", to: ["a@dest.test"])
        let events = h.waitForOutcome("b1", type: .delivered)
        #expect(events.map(\.type) == [.deferred, .delivered], "\(h.logText)")
        #expect(events.last?.attempt == 2)
        #expect(h.logText.contains("delivery.lease_too_short"))
        let first = try Self.firstDeferral(log, "b1")
        #expect(first.attempt == 1)
        #expect(first.delayMillis <= 1_000)
        #expect(first.result.response.contains("lease too short to send the body"))
        #expect(first.result.remoteHost.hasSuffix(":\(server.port)"))
        #expect(first.result.bounceClass == "timeout")
        #expect(h.logText.contains("reason=lease-too-short-for-body"))
        // The first connection got DATA but no body; the second the message, through a closed breaker.
        #expect(server.connectionCount == 2)
        #expect(server.messages.count == 1)
        #expect(!h.logText.contains("circuit open"))
        #expect(h.engine.parkingStatistics.destinationsDown == 0)
    }

    @Test("a body held back does not count against a cold source address's daily cap")
    func heldBackBodyIsNotCountedAsSent() throws {
        let clock = TestClock()
        let server = try Self.leaseRunsLowAtData(clock, ip: "127.99.0.13")
        defer { server.stop() }
        var options = Self.options(clock)
        // The only source address is on its first warm-up day, with room for one message.
        options.sourceIPs = [IPWarmup.SourceIP("127.99.0.21", warmupStartedAt: Date().timeIntervalSince1970)]
        options.warmupDailyCaps = [1, 1]
        let (h, _) = try Self.harness(server, ip: "127.99.0.13", clock: clock, options: options, refuseRenewals: true)
        defer { h.shutdown() }
        h.enqueue("w1", to: ["a@dest.test"])
        let events = h.waitForOutcome("w1", type: .delivered)
        // Counted as sent, the held-back body would have used the day's one message: the retry
        // would find no source address and wait for the next retry step.
        #expect(events.map(\.type) == [.deferred, .delivered], "\(h.logText)")
        #expect(!h.logText.contains("no source address"))
        #expect(server.records.withLock { $0.clientIPs } == ["127.99.0.21", "127.99.0.21"])
        #expect(server.messages.count == 1)
    }
}
