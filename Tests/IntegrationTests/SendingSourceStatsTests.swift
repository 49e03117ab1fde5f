import Foundation
import Testing
import TestSupport

/// Delivery events name the source pool and local address they left from, and `GET
/// /v1/events/stats` counts them per pool and per sending IP, through the real binary delivering
/// to smtp-sink.
@Suite("Stats per source pool and sending IP through the binary", .serialized)
struct SendingSourceStatsTests {
    static let sources: Set<String> = ["127.58.0.2", "127.58.0.3"]

    /// Sums `count` of the stats rows per key for `type`.
    func counts(_ stats: [String: Any], type: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for row in stats["buckets"] as? [[String: Any]] ?? [] where row["type"] as? String == type {
            out[row["key"] as? String ?? "?", default: 0] += row["count"] as? Int ?? 0
        }
        return out
    }

    @Test("mail through a route with a two-address pool is counted per pool and per sending IP; the default pool's too")
    func perPoolAndSendingIP() throws {
        let sink = try SinkProcess()
        defer { sink.stop() }
        let relay = try RelayProcess(overlay: [
            "delivery": ["enabled": true, "pools": [["name": "bulk", "addresses": Array(Self.sources)]]],
            "routes": [
                ["domain": "pooled.test", "hosts": ["127.0.0.1:\(sink.port)"], "tls": "none", "pool": "bulk"],
                ["domain": "plain.test", "hosts": ["127.0.0.1:\(sink.port)"], "tls": "none"],
            ]])
        defer { relay.cleanUp() }
        let out = try python(ObservabilityTests.send, [
            "127.0.0.1", String(relay.port("submission")),
            "a@pooled.test,b@pooled.test;c@pooled.test;d@pooled.test,e@plain.test;f@pooled.test",
        ])
        #expect(out.status == 0, "\(out.stderr)")
        var delivered: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            delivered = try relay.events("type=delivered")
            if delivered.count >= 6 { break }
            usleep(50_000)
        }
        #expect(delivered.count == 6, "\(relay.log())")

        // Each delivery event names where it left from.
        let pooled = delivered.filter { ($0["recipient"] as? String)?.hasSuffix("@pooled.test") == true }
        #expect(pooled.count == 5)
        #expect(pooled.allSatisfy { $0["pool"] as? String == "bulk" }, "\(pooled)")
        #expect(pooled.allSatisfy { Self.sources.contains($0["sendingIP"] as? String ?? "") }, "\(pooled)")
        let plain = delivered.filter { ($0["recipient"] as? String)?.hasSuffix("@plain.test") == true }
        #expect(plain.count == 1 && plain.first?["pool"] as? String == "default" && plain.first?["sendingIP"] == nil,
                "\(plain)")

        let byPool = counts(try relay.adminJSON("/v1/events/stats?by=pool"), type: "delivered")
        #expect(byPool == ["bulk": 5, "default": 1], "\(byPool)")
        let byIP = counts(try relay.adminJSON("/v1/events/stats?by=sendingIP&resolution=day"), type: "delivered")
        #expect(Set(byIP.keys).isSubset(of: Self.sources) && byIP.values.reduce(0, +) == 5, "\(byIP)")
        // The per-IP counts agree with the events, address by address.
        for ip in Self.sources {
            let n = pooled.filter { $0["sendingIP"] as? String == ip }.count
            #expect((byIP[ip] ?? 0) == n, "\(ip): \(byIP)")
        }
        let one = try relay.adminJSON("/v1/events/stats?by=pool&key=BULK")
        #expect(counts(one, type: "delivered") == ["bulk": 5], "\(one)")
        // Pool and sending IP are hourly dimensions, like recipient domain and client IP.
        #expect(try relay.admin("/v1/events/stats?by=pool&resolution=minute").0 == 400)
        // The submitting client's IP stays its own dimension.
        #expect(counts(try relay.adminJSON("/v1/events/stats?by=sourceIP"), type: "delivered") == ["127.0.0.1": 6])
    }
}
