import Foundation
import Testing
@testable import SpoolStore

/// Outcome events carry the local sending IP and source pool of the delivery attempt; the
/// command and event formats written before them still decode, and the hourly counts group by them.
@Suite("Sending IP and pool: outcome and event formats, hourly counts")
struct SendingSourceTests {
    static let t0: Int64 = 1_700_000_000_000

    /// An outcome as the format wrote it before sending IPs and pools: built field by field.
    static func oldOutcomeBytes() -> [UInt8] {
        var w = BinaryWriter(capacity: 128)
        w.u8(1)
        w.u8(3) // outcome
        w.string("Q1")
        w.u32(2)
        w.i64(t0)
        w.u32(1)
        w.string("a@example.org")
        w.u8(0) // delivered
        w.i64(0)
        w.u16(250)
        w.string("2.0.0")
        w.string("ok")
        w.string("mx.example.org")
        w.string("")
        return w.bytes
    }

    @Test("an outcome keeps each result's sending IP and pool; one without them has the old bytes and old bytes decode")
    func outcomeCodec() throws {
        let results = [
            SpoolCommand.RecipientResult(recipient: "a@example.org", disposition: .delivered, smtpCode: 250,
                                         enhancedCode: "2.0.0", response: "ok", remoteHost: "mx.example.org",
                                         sendingIP: "127.58.0.1", pool: "bulk"),
            SpoolCommand.RecipientResult(recipient: "b@example.org", disposition: .deferred(until: Self.t0 + 5),
                                         smtpCode: 451, response: "later", sendingIP: "", pool: "bulk"),
        ]
        let outcome = SpoolCommand.Outcome(queueID: "Q1", attempt: 2, timestamp: Self.t0, results: results)
        #expect(try SpoolCommand(decoding: SpoolCommand.outcome(outcome).encoded()) == .outcome(outcome))

        let plain = SpoolCommand.Outcome(queueID: "Q1", attempt: 2, timestamp: Self.t0, results: [
            SpoolCommand.RecipientResult(recipient: "a@example.org", disposition: .delivered, smtpCode: 250,
                                         enhancedCode: "2.0.0", response: "ok", remoteHost: "mx.example.org"),
        ])
        #expect(SpoolCommand.outcome(plain).encoded() == Self.oldOutcomeBytes())
        let decoded = try SpoolCommand(decoding: Self.oldOutcomeBytes())
        #expect(decoded == .outcome(plain))
        guard case .outcome(let o) = decoded else { return }
        #expect(o.results[0].sendingIP == "" && o.results[0].pool == "")
        // A trailer cut short is corrupt, not silently dropped.
        var cut = SpoolCommand.outcome(outcome).encoded()
        cut.removeLast(2)
        #expect(throws: StoreError.self) { try SpoolCommand(decoding: cut) }
    }

    @Test("an event record keeps sending IP and pool; a record written before them decodes; JSON names them when present")
    func eventCodec() throws {
        let event = Event(id: "7-1", type: .delivered, messageId: "m@x", queueId: "Q1", tenant: "acme",
                          sender: "s@acme.test", recipient: "a@example.org", timestampMillis: Self.t0, smtpCode: 250,
                          remoteHost: "mx", attempt: 1, sendingIP: "127.58.0.2", pool: "bulk")
        let back = try event.encoded().withUnsafeBytes { try Event(decoding: $0) }
        #expect(back == event)

        var old = event
        old.sendingIP = nil
        old.pool = nil
        let oldBytes = old.encoded()
        #expect(oldBytes.count < event.encoded().count)
        #expect(try oldBytes.withUnsafeBytes { try Event(decoding: $0) } == old)

        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(event)) as? [String: Any]
        #expect(json?["sendingIP"] as? String == "127.58.0.2")
        #expect(json?["pool"] as? String == "bulk")
        #expect(try JSONDecoder().decode(Event.self, from: JSONEncoder().encode(event)) == event)
        let plainJSON = try JSONSerialization.jsonObject(with: JSONEncoder().encode(old)) as? [String: Any]
        #expect(plainJSON?["sendingIP"] == nil && plainJSON?["pool"] == nil)
    }

    @Test("outcome events carry the sending IP and pool, and hourly counts group by pool and by sending IP")
    func counts() async throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        let log = try LocalLog(store: store)
        let sources = ["127.58.0.1", "127.58.0.2"]
        var expectedIP: [String: [Event.Kind: UInt64]] = [:]
        for m in 0..<6 {
            let at = Self.t0 + Int64(m) * 60_000
            let id = "Q\(m)"
            let recipients = ["a\(m)@example.org", "b\(m)@example.org"]
            let enqueue = SpoolCommand.Enqueue(
                queueID: id, messageID: "m\(m)@relay.test", tenant: "acme", authUser: "app", clientIP: "10.0.0.9",
                sender: "s@acme.test", recipients: recipients.map { SpoolCommand.Recipient(address: $0) },
                receivedAt: at, body: Array("Subject: x\r\n\r\nx\r\n".utf8))
            _ = try await log.proposeAndWait(.enqueue(enqueue)).get()
            _ = try await log.proposeAndWait(.claim(.init(queueID: id, owner: "n1", attempt: 1, issuedAt: at,
                                                          expiresAt: at + 60_000))).get()
            let ip = sources[m % 2]
            // Message 5's outcome has no source (a connection never made): counted in neither.
            let known = m != 5
            let results = [
                SpoolCommand.RecipientResult(recipient: recipients[0], disposition: .delivered, smtpCode: 250,
                                             sendingIP: known ? ip : "", pool: known ? "bulk" : ""),
                SpoolCommand.RecipientResult(recipient: recipients[1], disposition: m % 3 == 0 ? .bounced : .deferred(until: at + 600_000),
                                             smtpCode: m % 3 == 0 ? 550 : 451, sendingIP: known ? ip : "", pool: known ? "bulk" : ""),
            ]
            if known {
                expectedIP[ip, default: [:]][.delivered, default: 0] += 1
                expectedIP[ip, default: [:]][m % 3 == 0 ? .bounced : .deferred, default: 0] += 1
            }
            _ = try await log.proposeAndWait(.outcome(.init(queueID: id, attempt: 1, timestamp: at + 1000,
                                                            results: results))).get()
        }
        let all = try store.events(EventQuery(limit: 1000))
        let delivered = all.filter { $0.type == .delivered }
        #expect(delivered.count == 6)
        #expect(delivered.filter { $0.pool == "bulk" }.count == 5)
        #expect(Set(delivered.compactMap(\.sendingIP)) == Set(sources))
        #expect(all.filter { $0.type == .accepted }.allSatisfy { $0.sendingIP == nil && $0.pool == nil })

        let end = Self.t0 + 86_400_000
        let pools = try store.eventCounts(from: Self.t0 - 3_600_000, to: end, resolution: .hour, dimension: .pool)
        #expect(Set(pools.map(\.key)) == ["bulk"])
        var poolByType: [Event.Kind: UInt64] = [:]
        for row in pools { poolByType[row.type, default: 0] += row.count }
        #expect(poolByType == [.delivered: 5, .bounced: 2, .deferred: 3])

        let ips = try store.eventCounts(from: Self.t0 - 3_600_000, to: end, resolution: .hour, dimension: .sendingIP)
        var ipByType: [String: [Event.Kind: UInt64]] = [:]
        for row in ips { ipByType[row.key, default: [:]][row.type, default: 0] += row.count }
        #expect(ipByType == expectedIP)
        let one = try store.eventCounts(from: Self.t0 - 3_600_000, to: end, resolution: .day, dimension: .sendingIP,
                                        key: "127.58.0.2")
        #expect(one.allSatisfy { $0.key == "127.58.0.2" })
        #expect(one.reduce(0) { $0 + $1.count } == 4)
        #expect(throws: StoreError.self) {
            try store.eventCounts(from: Self.t0, to: end, resolution: .minute, dimension: .pool)
        }
        log.stop()
        _ = dir
    }
}
