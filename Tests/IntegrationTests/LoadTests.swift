import Foundation
import SpoolStore
import Testing

/// Sustained load from Postfix's `smtp-source` against the real binary.
@Suite("Sustained load", .serialized)
struct LoadTests {
    static let messages = 20_000

    @Test("smtp-source → Sendarix → smtp-sink: 20,000 messages acknowledged, all delivered, the node stays up")
    func smtpSourceLoad() throws {
        // Regression: a wake-up hook stored as a closure in a Mutex grew by one thunk per message and
        // overflowed the stack after ~16,000 messages.
        let sink = try SinkProcess(dump: false, counting: true)
        defer { sink.stop() }
        let relay = try RelayProcess(overlay: [
            "policy": ["trustedNetworks": ["127.0.0.0/8"], "maxConnectionsPerIP": 100],
            "routes": [["domain": "local.test", "hosts": ["127.0.0.1:\(sink.port)"], "tls": "none"]],
            "delivery": ["enabled": true],
        ])
        defer { relay.cleanUp() }
        let started = Date()
        let out = try run("/usr/sbin/smtp-source", ["-s", "20", "-l", "1024", "-m", "\(Self.messages)", "-c",
                                                    "-f", "load@remote.test", "-t", "sink@local.test",
                                                    "127.0.0.1:\(relay.port("relay"))"],
                          timeout: 600)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(relay.process.isRunning, "the node died: \(relay.log().suffix(2000))")
        // Wait for the queue to drain (delivered, or bounced/failed: the counts below tell which).
        var queued = -1
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            queued = (try relay.adminJSON("/health"))["queue"] as? Int ?? -1
            if queued == 0 { break }
            usleep(200_000)
        }
        #expect(queued == 0, "still queued: \(queued)")
        print("load: \(Self.messages) messages accepted and drained in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        // The sink counts a message when its end of data arrives; the counter file may lag a little.
        let sinkDeadline = Date().addingTimeInterval(30)
        while Date() < sinkDeadline, (sink.messagesReceived ?? 0) < Self.messages { usleep(100_000) }
        #expect(sink.messagesReceived == Self.messages, "smtp-sink received \(sink.messagesReceived ?? 0)")

        // Every event, read from the node's spool after a clean stop (the admin API caps a query at
        // 10,000 events and has no paging).
        relay.stop()
        #expect(relay.process.exitStatus == 0, "\(relay.log().suffix(2000))")
        let store = try SpoolStore(directory: relay.dataDir + "/spool")
        defer { store.close() }
        func all(_ type: Event.Kind) throws -> [Event] { try Self.allEvents(store, type: type) }
        let accepted = try all(.accepted)
        let delivered = try all(.delivered)
        #expect(accepted.count == Self.messages && Set(accepted.map(\.queueId)).count == Self.messages)
        #expect(delivered.count == Self.messages, "delivered events: \(delivered.count)")
        #expect(Set(delivered.map(\.queueId)) == Set(accepted.map(\.queueId)))
        #expect(delivered.allSatisfy { $0.recipient == "sink@local.test" && $0.smtpCode == 250 })
        for kind in [Event.Kind.bounced, .failed, .suppressed, .complained] {
            let events = try all(kind)
            #expect(events.isEmpty, "\(events.count) \(kind) events, first: \(String(describing: events.first))")
        }
        print("load: \(try all(.deferred).count) deferred attempts on the way (retried and then delivered)")
    }

    /// All events of `type` in [since, before): the store returns at most 10,000 per query, so a
    /// full answer splits the time window in two until each part fits.
    static func allEvents(_ store: SpoolStore, type: Event.Kind, since: Int64 = 0, before: Int64 = Int64.max / 4) throws -> [Event] {
        let events = try store.events(EventQuery(type: type, since: since, before: before, limit: 10_000))
        guard events.count == 10_000 else { return events }
        let middle = since + (before - since) / 2
        precondition(middle > since, "more than 10,000 \(type) events in one millisecond")
        return try allEvents(store, type: type, since: since, before: middle) + allEvents(store, type: type, since: middle, before: before)
    }
}
