import Foundation
import Glibc
import SpoolStore

/// `sendarix bench-search --data-dir DIR [--events N] [--queries Q]`: the search benchmark's
/// helper (cluster/bench --only search). Fills a fresh spool store directly with N synthetic
/// events (no SMTP, no log: ``SpoolStore/importEvents(_:firstIndex:)`` in batches), then times
/// Q searches per query kind in process (search plus JSON encoding of the page, what
/// `GET /v1/events` does before writing the response) and prints one JSON object: fill rate, p50/p99 latency
/// per kind (ms) for a first page of 100, and disk bytes per event. Blocks; main thread.
enum BenchSearch {
    static let tenants = (0..<100).map { "tenant\($0)" }
    static let bigDomains = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "gmx.de", "orange.fr"]
    static let classes = ["bad-mailbox", "bad-domain", "spam-block", "quota", "policy"]

    struct Rng {
        var x: UInt64
        mutating func next() -> UInt64 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return x
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        /// Skewed: small values much more likely (square of a uniform).
        mutating func skewed(_ n: Int) -> Int {
            let u = Double(next() % 1_000_000) / 1_000_000
            return min(n - 1, Int(u * u * Double(n)))
        }
    }

    static func domain(_ r: inout Rng) -> String {
        r.below(10) < 6 ? bigDomains[r.skewed(bigDomains.count)] : "d\(r.below(20_000)).example"
    }

    static func run(_ args: [String]) throws -> Int32 {
        let (named, _) = try CLI.options(args)
        guard let dir = named["data-dir"] else { throw CLIError("usage: sendarix bench-search --data-dir DIR [--events N] [--queries Q]") }
        let total = Int(named["events"] ?? "") ?? 1_000_000
        let queries = Int(named["queries"] ?? "") ?? 200
        let store = try SpoolStore(directory: dir, options: .init(mapSize: 256 << 30, durable: false))
        defer { store.close() }
        var rng = Rng(x: 0x9E37_79B9_7F4A_7C15)
        let start = Int64(1_767_225_600_000)  // 2026-01-01
        let span: Int64 = 7 * 86_400_000
        let batch = 20_000
        let fillStarted = Date()
        var made = 0
        var samples: [Event] = []
        while made < total {
            var events: [Event] = []
            events.reserveCapacity(batch)
            for i in made..<min(total, made + batch) {
                let t = start + Int64(Double(span) * Double(i) / Double(total))
                let tenant = tenants[rng.skewed(tenants.count)]
                let m = i / 2
                let recipient = "user\(rng.below(200_000))@\(domain(&rng))"
                let roll = rng.below(1000)
                let type: Event.Kind = roll < 450 ? .accepted : roll < 850 ? .delivered : roll < 950 ? .deferred
                    : roll < 995 ? .bounced : roll < 998 ? .complained : .failed
                var e = Event(id: "", type: type, messageId: "m\(m)@\(tenant).example", queueId: "Q\(m)", tenant: tenant,
                              sender: "news\(rng.below(50))@\(tenant).example", recipient: recipient, timestampMillis: t)
                if type != .accepted {
                    e.smtpCode = type == .delivered ? 250 : type == .deferred ? 451 : 550
                    e.response = type == .delivered ? "250 2.0.0 OK queued" : "550 5.1.1 user unknown"
                    e.remoteHost = "mx.\(recipient.split(separator: "@")[1])"
                    e.attempt = 1
                }
                if type == .bounced { e.bounceClass = classes[rng.skewed(classes.count)] }
                events.append(e)
                if rng.below(max(1, total / 2000)) == 0 { samples.append(e) }
            }
            try store.importEvents(events, firstIndex: UInt64(made) + 1)
            made += events.count
            if made % 1_000_000 < batch {
                FileHandle.standardError.write(Data("bench-search: \(made) events stored in \(Int(Date().timeIntervalSince(fillStarted))) s\n".utf8))
            }
        }
        let fillSeconds = Date().timeIntervalSince(fillStarted)
        if samples.isEmpty { samples = try store.events(EventQuery(limit: 100)) }

        typealias Kind = (name: String, make: (inout Rng) -> EventQuery)
        func pick(_ r: inout Rng) -> Event { samples[r.below(samples.count)] }
        let kinds: [Kind] = [
            ("newest", { _ in EventQuery() }),
            ("recipient", { r in EventQuery(recipient: pick(&r).recipient) }),
            ("sender", { r in EventQuery(sender: pick(&r).sender) }),
            ("recipientDomain", { r in var q = EventQuery(); q.recipientDomain = domain(&r); return q }),
            ("tenant", { r in var q = EventQuery(); q.tenant = pick(&r).tenant; return q }),
            ("messageId", { r in var q = EventQuery(); q.messageId = pick(&r).messageId; return q }),
            ("queueId", { r in EventQuery(queueId: pick(&r).queueId) }),
            ("type", { _ in EventQuery(type: .bounced) }),
            ("bounceClass", { r in var q = EventQuery(type: .bounced); q.bounceClass = classes[r.below(classes.count)]; return q }),
            ("timeRange", { r in
                let t = start + Int64(r.below(Int(span / 1000))) * 1000
                return EventQuery(since: t, before: t + 3_600_000)
            }),
            ("tenant+type", { r in var q = EventQuery(type: .complained); q.tenant = pick(&r).tenant; return q }),
            ("domain+type+time", { r in
                let t = start + Int64(r.below(Int(span / 1000))) * 1000
                var q = EventQuery(type: .bounced, since: t - 86_400_000, before: t)
                q.recipientDomain = bigDomains[r.below(bigDomains.count)]
                return q
            }),
            ("tenant+recipient", { r in let e = pick(&r); var q = EventQuery(recipient: e.recipient); q.tenant = e.tenant; return q }),
        ]
        var results: [String: Any] = [:]
        let encoder = JSONEncoder()
        var qr = Rng(x: 0xD1B5_4A32_D192_ED03)
        for kind in kinds {
            var times: [Double] = []
            var returned = 0
            for _ in 0..<queries {
                var q = kind.make(&qr)
                q.limit = 100
                let t0 = DispatchTime.now().uptimeNanoseconds
                let page = try store.searchEvents(q)
                _ = try encoder.encode(page.events)  // what the API does next: the response body
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                returned += page.events.count
            }
            times.sort()
            func pct(_ p: Double) -> Double { (times[min(times.count - 1, Int(Double(times.count) * p))] * 1000).rounded() / 1000 }
            results[kind.name] = ["p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0),
                                  "avg_events_returned": Double(returned) / Double(queries)]
        }
        // Deep paging: follow the cursor 20 pages into one tenant's events.
        var deep: [Double] = []
        for _ in 0..<max(1, queries / 10) {
            var q = EventQuery(limit: 100)
            q.tenant = pick(&qr).tenant
            for _ in 0..<20 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let page = try store.searchEvents(q)
                _ = try encoder.encode(page.events)
                deep.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                guard let c = page.cursor else { break }
                q.cursor = c
            }
        }
        deep.sort()
        results["cursorPage"] = ["p50_ms": deep[deep.count / 2], "p99_ms": deep[min(deep.count - 1, deep.count * 99 / 100)]]
        let usage = try store.spaceUsage()
        var st = stat()
        stat(dir + "/data.mdb", &st)
        let allocated = Int(st.st_blocks) * 512
        let out: [String: Any] = [
            "events": total, "queriesPerKind": queries, "pageSize": 100,
            "fillSeconds": (fillSeconds * 10).rounded() / 10, "fillEventsPerSecond": Int(Double(total) / fillSeconds),
            "diskBytes": allocated, "lmdbUsedBytes": usage.used,
            "diskBytesPerEvent": Int(Double(allocated) / Double(total)),
            "queries": results,
            "note": "filled directly through SpoolStore.importEvents (no SMTP); latencies are in process: searchEvents plus the JSON encoding of the page (100 events), page cache warm; no HTTP",
        ]
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return 0
    }
}
