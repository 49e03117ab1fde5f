import Foundation
import Testing

/// The authoritative responder of a real `sendarix serve` process as a reflection/amplification
/// source: how many bytes each kind of unauthenticated UDP query gets back, and how response rate
/// limiting (`dns.rateLimit`) caps a flood from one client network.
@Suite("DNS amplification and response rate limiting of a running node")
struct DNSAmplificationTests {
    /// A node whose zone has three ingress addresses (three SMTP listener IPs), like a 3-node
    /// cluster, plus IPv6; `rateLimit` is merged into `dns.rateLimit`.
    static func node(rateLimit: [String: Any]) throws -> RelayProcess {
        try RelayProcess(overlay: [
            "listen": ["submission": ["127.0.0.1:0", "127.0.0.2:0", "127.0.0.3:0", "[::1]:0"], "dns": ["127.0.0.1:0"]],
            "dns": ["zone": "relay.test", "ingressName": "smtp.relay.test", "ttl": 60, "rateLimit": rateLimit],
        ])
    }

    /// dnspython: one query per (name, type, EDNS or not) with minimal queries (no cookie), as JSON rows.
    static let measure = """
    import dns.message, dns.query, dns.rdatatype, dns.rcode, dns.flags, json, sys
    port = int(sys.argv[1])
    cases = [("smtp.relay.test", "A"), ("smtp.relay.test", "AAAA"), ("relay.test", "MX"), ("relay.test", "TXT"),
             ("it1.relay.test", "TXT"), ("relay.test", "NS"), ("relay.test", "SOA"), ("relay.test", "ANY"),
             ("smtp.relay.test", "ANY"), ("nope.relay.test", "A"), ("example.org", "A")]
    rows = []
    for edns in (True, False):
        for name, rdtype in cases:
            q = dns.message.make_query(name, rdtype, use_edns=0 if edns else False, payload=1232)
            q.flags &= ~dns.flags.RD
            wire = q.to_wire()
            r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3, ignore_unexpected=True, raise_on_truncation=False)
            out = r.to_wire()
            label = ("SPF " if rdtype == "TXT" else "") + rdtype
            rows.append({"name": name, "type": label, "edns": edns, "query": len(wire), "response": len(out),
                         "rcode": dns.rcode.to_text(r.rcode()), "tc": bool(r.flags & dns.flags.TC),
                         "answers": [rr.to_text() for rrset in r.answer for rr in rrset]})
    print(json.dumps(rows))
    """

    @Test("every kind of UDP answer stays small: amplification ≤ 10 for each type, ≤ 3 for ANY (one HINFO, RFC 8482)")
    func amplificationTable() throws {
        let relay = try Self.node(rateLimit: ["enabled": false])
        defer { relay.cleanUp() }
        let port = relay.port("dns")
        let out = try python(Self.measure, ["\(port)"])
        let rows = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [[String: Any]], "\(out.stderr)")
        #expect(rows.count == 22)
        var table = "name               type      EDNS  query  response  factor  rcode     tc\n"
        for row in rows {
            let q = row["query"] as! Int, r = row["response"] as! Int, type = row["type"] as! String
            let factor = Double(r) / Double(q)
            table += (row["name"] as! String).padding(toLength: 19, withPad: " ", startingAt: 0)
                + type.padding(toLength: 10, withPad: " ", startingAt: 0)
                + ((row["edns"] as! Bool) ? "1232  " : "none  ")
                + String(q).padding(toLength: 7, withPad: " ", startingAt: 0)
                + String(r).padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(format: "%.2f", factor).padding(toLength: 8, withPad: " ", startingAt: 0)
                + (row["rcode"] as! String).padding(toLength: 10, withPad: " ", startingAt: 0)
                + ((row["tc"] as! Bool) ? "TC" : "") + "\n"
            #expect(factor <= 10, "\(row)")
            if type == "ANY" {
                #expect(factor <= 3, "\(row)")
                #expect(row["answers"] as? [String] == ["\"RFC8482\" \"\""], "\(row)")
            }
        }
        print("DNS amplification (UDP, unauthenticated, response bytes / query bytes):\n" + table)
        // The real answers are there: the zone was not made small to pass.
        let a = rows.first { $0["type"] as? String == "A" && $0["edns"] as? Bool == true }!
        #expect(Set(a["answers"] as! [String]) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"])
        let spf = rows.first { $0["name"] as? String == "relay.test" && $0["type"] as? String == "SPF TXT" }!
        #expect((spf["answers"] as! [String]).first?.contains("ip4:127.0.0.3") == true)
        #expect(rows.first { $0["name"] as? String == "nope.relay.test" }?["rcode"] as? String == "NXDOMAIN")
        #expect(rows.first { $0["name"] as? String == "example.org" }?["rcode"] as? String == "REFUSED")
        // dig, a real client, over both transports.
        for transport in ["+notcp", "+tcp"] {
            let dig = try run("/usr/bin/dig", ["@127.0.0.1", "-p", "\(port)", "+tries=1", "+time=3", transport, "relay.test", "ANY"])
            let text = String(decoding: dig.stdout, as: UTF8.self)
            #expect(text.contains("ANSWER: 1,") && text.contains("HINFO\t\"RFC8482\" \"\""), "\(text)")
        }
    }

    /// dnspython/raw sockets: a burst of identical queries from 127.0.0.1, then a sentinel query of
    /// another account (its answer means the server has handled the whole burst).
    static let burst = """
    import dns.message, dns.query, dns.flags, socket, select, json, sys, time
    port, count = int(sys.argv[1]), int(sys.argv[2])
    def udp(source):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((source, 0))
        s.setblocking(False)
        return s
    def query(name, rdtype, qid):
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        q.id = qid
        return q.to_wire()
    full = tc = 0
    def account(data, sentinel):
        global full, tc
        r = dns.message.from_wire(data)
        if r.id == sentinel: return True
        if r.flags & dns.flags.TC: tc += 1
        elif r.answer: full += 1
        return False
    def drain(s, sentinel, wait):
        done = False
        while True:
            ready, _, _ = select.select([s], [], [], wait)
            if not ready: return done
            data = s.recv(65535)
            done = account(data, sentinel) or done
            if done: wait = 0
    s = udp("127.0.0.1")
    start = time.monotonic()
    for i in range(count):
        s.sendto(query("smtp.relay.test", "A", i % 60000), ("127.0.0.1", port))
        drain(s, -1, 0)
    sent_elapsed = time.monotonic() - start
    # The end of the burst: an answer to a query of another kind. UDP may drop it on a loaded
    # machine (as it may drop any datagram), so it is asked again, as a resolver would.
    got = False
    for attempt in range(8):
        s.sendto(query("relay.test", "SOA", 65000), ("127.0.0.1", port))
        got = drain(s, 65000, 2)
        if got: break
    elapsed = time.monotonic() - start
    # Same /24, other address: the same account, still over the limit (two queries: one slip, one drop).
    n = udp("127.0.0.2")
    n_full = n_tc = 0
    for i in range(2):
        n.sendto(query("smtp.relay.test", "A", 61000 + i), ("127.0.0.1", port))
    saved = (full, tc); full = tc = 0
    neighbour_done = False
    for attempt in range(8):
        n.sendto(query("relay.test", "SOA", 65001), ("127.0.0.1", port))
        neighbour_done = drain(n, 65001, 2)
        if neighbour_done: break
    n_full, n_tc = full, tc; full, tc = saved
    # Another /24: its own account.
    other = dns.query.udp(dns.message.make_query("smtp.relay.test", "A", use_edns=0), "127.0.0.1", port=port,
                          source="127.0.1.1", timeout=5, raise_on_truncation=False)
    # TCP from the flooding address: never limited.
    tcp_full = 0
    for i in range(20):
        r = dns.query.tcp(dns.message.make_query("smtp.relay.test", "A"), "127.0.0.1", port=port, source="127.0.0.1", timeout=5)
        if r.answer and not r.flags & dns.flags.TC: tcp_full += 1
    print(json.dumps({"sent": count, "full": full, "tc": tc, "sentinel": got, "sent_elapsed": sent_elapsed, "elapsed": elapsed,
                      "neighbour_full": n_full, "neighbour_tc": n_tc, "neighbour_done": neighbour_done,
                      "other_full": bool(other.answer) and not other.flags & dns.flags.TC, "tcp_full": tcp_full}))
    """

    @Test("a burst of 1,000 identical UDP queries gets at most the rate's answers plus slipped truncated replies; another /24 and TCP are unaffected")
    func rateLimitedBurst() throws {
        let rate = 5.0
        let relay = try Self.node(rateLimit: ["responsesPerSecond": rate, "errorsPerSecond": 5, "slip": 2, "window": 15])
        defer { relay.cleanUp() }
        let out = try python(Self.burst, ["\(relay.port("dns"))", "1000"])
        let r = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any], "\(out.stderr)")
        print("RRL burst: \(r)")
        let full = r["full"] as! Int, tc = r["tc"] as! Int, elapsed = r["elapsed"] as! Double
        #expect(r["sentinel"] as? Bool == true)
        // One second's worth at once, plus what refilled while the burst lasted (the debt grows faster).
        let allowed = Int(rate) + Int((rate * elapsed).rounded(.up))
        #expect(full >= 1 && full <= allowed, "\(r)")
        // slip 2: every second limited response is a truncated empty reply, the rest are dropped.
        #expect(tc >= 1 && tc <= (1000 - full) / 2 + 1, "\(r)")
        #expect(full + tc < 1000 / 2 + allowed, "\(r)")
        #expect(r["neighbour_done"] as? Bool == true && r["neighbour_full"] as? Int == 0 && r["neighbour_tc"] as? Int == 1, "\(r)")
        #expect(r["other_full"] as? Bool == true, "\(r)")
        #expect(r["tcp_full"] as? Int == 20, "\(r)")
    }

    @Test("with the default settings a flood is limited too (rate limiting is on by default)")
    func onByDefault() throws {
        let relay = try Self.node(rateLimit: [:])
        defer { relay.cleanUp() }
        let out = try python(Self.burst, ["\(relay.port("dns"))", "300"])
        let r = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any], "\(out.stderr)")
        let full = r["full"] as! Int, elapsed = r["elapsed"] as! Double
        #expect(r["sentinel"] as? Bool == true)
        #expect(full >= 1 && full <= 10 + Int((10 * elapsed).rounded(.up)), "\(r)")
        #expect((r["tc"] as! Int) >= 1 && r["tcp_full"] as? Int == 20, "\(r)")
    }
}
