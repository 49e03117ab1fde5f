import DNSCore
import Foundation
import Glibc
import Testing
@testable import DNSService

@Suite("DNS server against dig and dnspython")
struct DNSServerTests {
    @Test("the server binds UDP and TCP on one free port and reports it")
    func binding() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        #expect(server.port != 0)
        #expect(server.boundAddresses.first?.description == "127.0.0.1:\(server.port)")
        #expect(throws: DNSServiceError.self) { try DNSServer(listen: ["127.0.0.1:\(server.port)"], zone: testZone()) }
        #expect(throws: DNSServiceError.self) { try DNSServer(listen: ["not-an-ip:53"], zone: testZone()) }
    }

    @Test("several listen addresses are all served, each on its own reported port")
    func severalAddresses() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0", "127.0.0.5:0"], zone: testZone())
        defer { server.stop() }
        #expect(server.boundAddresses.count == 2 && server.boundAddresses[1].address == [127, 0, 0, 5])
        let second = server.boundAddresses[1]
        let out = try run("/usr/bin/dig", ["@127.0.0.5", "-p", "\(second.port)", "+tries=1", "+time=3", "n2.relay.example", "A", "+tcp"])
        #expect(digAddresses(out) == ["10.0.0.2"], "\(out)")
        #expect(digAddresses(try dig(server.port, ["n2.relay.example", "A"])) == ["10.0.0.2"])
    }

    @Test("dig over UDP gets the regional ingress addresses with aa set and ra clear")
    func digUDP() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let out = try dig(server.port, ["smtp.relay.example", "A", "+norec"])
        #expect(out.contains("status: NOERROR"))
        #expect(out.contains("flags: qr aa;"))
        #expect(digAddresses(out) == ["10.0.0.1", "10.0.0.2"])
        #expect(server.queriesAnswered >= 1)
    }

    @Test("dig over TCP gets the same answer")
    func digTCP() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let out = try dig(server.port, ["smtp.relay.example", "A", "+norec", "+tcp"])
        #expect(out.contains("status: NOERROR") && digAddresses(out) == ["10.0.0.1", "10.0.0.2"])
        let mx = try dig(server.port, ["relay.example", "MX", "+tcp"])
        #expect(mx.contains("MX\t10 smtp.relay.example."))
        #expect(mx.contains("flags: qr aa rd;"))
    }

    @Test("dig with +subnet is routed by the client subnet and sees the scope")
    func digSubnet() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let out = try dig(server.port, ["smtp.relay.example", "A", "+norec", "+subnet=198.51.100.0/24"])
        #expect(digAddresses(out) == ["10.0.0.3"])
        #expect(out.contains("CLIENT-SUBNET: 198.51.100.0/24/24"))
    }

    @Test("dig with a small buffer sees TC, and dig falls back to TCP for the full answer")
    func digTruncation() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone(extraNodes: 60))
        defer { server.stop() }
        let truncated = try dig(server.port, ["smtp.relay.example", "A", "+norec", "+bufsize=512", "+ignore"])
        #expect(truncated.contains("flags: qr aa tc;"))
        let full = try dig(server.port, ["smtp.relay.example", "A", "+norec", "+bufsize=512"])
        #expect(digAddresses(full).count == 62)
        let big = try dig(server.port, ["smtp.relay.example", "A", "+norec", "+bufsize=1232", "+ignore"])
        #expect(!big.contains(" tc;") && digAddresses(big).count == 62)
    }

    @Test("dig sees NXDOMAIN with the SOA, and REFUSED outside the zone")
    func digNegative() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let nx = try dig(server.port, ["nope.relay.example", "A", "+norec"])
        #expect(nx.contains("status: NXDOMAIN") && nx.contains("SOA"))
        #expect(nx.contains("relay.example.\t\t30\tIN\tSOA") || nx.contains("relay.example.\t30\tIN\tSOA"))
        let refused = try dig(server.port, ["example.com", "A", "+norec"])
        #expect(refused.contains("status: REFUSED"))
    }

    @Test("dnspython: MX with glue, BADVERS for EDNS version 1, and a NODATA answer")
    func dnspython() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let out = try python(server.port, """
        import dns.message, dns.query, dns.flags, dns.rcode, dns.rdatatype
        q = dns.message.make_query('relay.example', 'MX')
        r = dns.query.udp(q, '127.0.0.1', port=PORT, timeout=3)
        print('mx', r.rcode() == dns.rcode.NOERROR, bool(r.flags & dns.flags.AA), bool(r.flags & dns.flags.RA),
              r.answer[0][0].exchange.to_text(), sorted(rr.to_text() for rrset in r.additional for rr in rrset))
        q = dns.message.make_query('relay.example', 'SOA'); q.use_edns(edns=1)
        r = dns.query.udp(q, '127.0.0.1', port=PORT, timeout=3)
        print('badvers', dns.rcode.to_text(r.rcode()))
        q = dns.message.make_query('n2.relay.example', 'AAAA')
        r = dns.query.tcp(q, '127.0.0.1', port=PORT, timeout=3)
        print('nodata', dns.rcode.to_text(r.rcode()), len(r.answer), r.authority[0].rdtype == dns.rdatatype.SOA, r.authority[0].ttl)
        """)
        #expect(out.contains("mx True True False smtp.relay.example. ['10.0.0.1', '10.0.0.2', 'fd00::1']"), "\(out)")
        #expect(out.contains("badvers BADVERS"), "\(out)")
        #expect(out.contains("nodata NOERROR 0 True 30"), "\(out)")
    }

    @Test("several queries pipelined on one TCP connection all get answers, in order")
    func tcpPipelining() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let out = try python(server.port, """
        import socket, struct, dns.message
        s = socket.create_connection(('127.0.0.1', PORT), timeout=5)
        names = ['relay.example', 'n1.relay.example', 'smtp.relay.example', 'nope.relay.example']
        data = b''
        for i, n in enumerate(names):
            q = dns.message.make_query(n, 'A'); q.id = 100 + i
            w = q.to_wire(); data += struct.pack('!H', len(w)) + w
        s.sendall(data[:7]); s.sendall(data[7:])
        buf = b''
        out = []
        while len(out) < len(names):
            chunk = s.recv(4096)
            if not chunk: break
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack('!H', buf[:2])[0]:
                l = struct.unpack('!H', buf[:2])[0]
                m = dns.message.from_wire(buf[2:2+l]); buf = buf[2+l:]
                out.append('%d:%s' % (m.id, dns.rcode.to_text(m.rcode())))
        print(' '.join(out))
        """)
        #expect(out.contains("100:NOERROR 101:NOERROR 102:NOERROR 103:NXDOMAIN"), "\(out)")
    }

    @Test("a client that half-closes after its query still receives the answer")
    func halfClose() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone(extraNodes: 200))
        defer { server.stop() }
        let out = try python(server.port, """
        import socket, struct, dns.message
        s = socket.create_connection(('127.0.0.1', PORT), timeout=5)
        w = dns.message.make_query('smtp.relay.example', 'A').to_wire()
        s.sendall(struct.pack('!H', len(w)) + w)
        s.shutdown(socket.SHUT_WR)
        buf = b''
        while True:
            chunk = s.recv(65536)
            if not chunk: break
            buf += chunk
        m = dns.message.from_wire(buf[2:2 + struct.unpack('!H', buf[:2])[0]])
        print('answers', len(m.answer[0]))
        """)
        #expect(out.contains("answers 202"), "\(out)")
    }

    @Test("garbage over UDP and TCP does not stop the server from answering")
    func garbage() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        let out = try python(server.port, """
        import socket, random, struct, dns.exception, dns.message, dns.query
        random.seed(7)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(300):
            u.sendto(bytes(random.getrandbits(8) for _ in range(random.randint(0, 600))), ('127.0.0.1', PORT))
        for i in range(20):
            t = socket.create_connection(('127.0.0.1', PORT), timeout=5)
            t.sendall(bytes(random.getrandbits(8) for _ in range(random.randint(0, 3000))))
            t.close()
        t = socket.create_connection(('127.0.0.1', PORT), timeout=5)
        t.sendall(struct.pack('!H', 5) + b'\\x00\\x01\\x00')
        t.shutdown(socket.SHUT_WR)
        t.close()
        # UDP may lose a datagram on a loaded machine: retry as a resolver would (5 tries of 3 s).
        for attempt in range(5):
            try:
                r = dns.query.udp(dns.message.make_query('n1.relay.example', 'A'), '127.0.0.1', port=PORT, timeout=3)
                break
            except dns.exception.Timeout:
                if attempt == 4: raise
        print('alive', r.answer[0][0].to_text())
        """)
        #expect(out.contains("alive 10.0.0.1"), "\(out)")
    }

    @Test("updateZone from another thread changes the next answer")
    func zoneUpdate() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        defer { server.stop() }
        #expect(digAddresses(try dig(server.port, ["smtp.relay.example", "A", "+norec"])) == ["10.0.0.1", "10.0.0.2"])
        let updater = Thread { server.updateZone(testZone(healthy: ["n1": false])) }
        updater.start()
        while server.zone.nodes[0].healthy { sched_yield() }
        #expect(digAddresses(try dig(server.port, ["smtp.relay.example", "A", "+norec"])) == ["10.0.0.2"])
        server.updateZone(testZone(healthy: ["n1": false, "n2": false, "n3": false]))
        let none = try dig(server.port, ["smtp.relay.example", "A", "+norec"])
        #expect(none.contains("status: NOERROR") && digAddresses(none).isEmpty && none.contains("ANSWER: 0"))
    }

    @Test("an idle TCP connection is closed after the idle timeout")
    func idleTimeout() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone(), tcpIdleTimeout: 0.3)
        defer { server.stop() }
        let out = try python(server.port, """
        import socket, time
        s = socket.create_connection(('127.0.0.1', PORT), timeout=10)
        t = time.monotonic()
        data = s.recv(10)
        print('closed', data == b'', time.monotonic() - t < 5)
        """)
        #expect(out.contains("closed True True"), "\(out)")
    }

    @Test("past the connection bound the least recently active connection is closed")
    func connectionBound() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone(), maxTCPConnections: 2, tcpIdleTimeout: 30)
        defer { server.stop() }
        let out = try python(server.port, """
        import socket, struct, dns.message
        def ask(s):
            w = dns.message.make_query('n1.relay.example', 'A').to_wire()
            s.sendall(struct.pack('!H', len(w)) + w)
            return len(s.recv(4096)) > 0
        a = socket.create_connection(('127.0.0.1', PORT), timeout=5)
        print('a', ask(a))
        b = socket.create_connection(('127.0.0.1', PORT), timeout=5)
        print('b', ask(b))
        c = socket.create_connection(('127.0.0.1', PORT), timeout=5)
        print('c', ask(c))
        print('a-closed', a.recv(10) == b'')
        print('b-still', ask(b))
        """)
        #expect(out.contains("a True") && out.contains("b True") && out.contains("c True"), "\(out)")
        #expect(out.contains("a-closed True") && out.contains("b-still True"), "\(out)")
    }

    @Test("rate-limited UDP clients get a burst, then truncated slips, while TCP still answers")
    func rateLimiting() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone(),
                                   rateLimit: DNSRateLimiter(responsesPerSecond: 0.01, burst: 5, slip: 2))
        defer { server.stop() }
        let out = try python(server.port, """
        import socket, dns.message, dns.flags, dns.query
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(20):
            q = dns.message.make_query('n1.relay.example', 'A'); q.id = i
            u.sendto(q.to_wire(), ('127.0.0.1', PORT))
        # Wait (generously) for the 12 expected replies, then briefly for any extra one.
        full = tc = 0
        u.settimeout(10.0)
        try:
            while full + tc < 12:
                m = dns.message.from_wire(u.recv(4096))
                if m.flags & dns.flags.TC: tc += 1
                else: full += 1
            u.settimeout(0.5)
            while True:
                m = dns.message.from_wire(u.recv(4096))
                if m.flags & dns.flags.TC: tc += 1
                else: full += 1
        except socket.timeout:
            pass
        r = dns.query.tcp(dns.message.make_query('n1.relay.example', 'A'), '127.0.0.1', port=PORT, timeout=10)
        print('full', full, 'tc', tc, 'tcp', len(r.answer))
        """)
        #expect(out.contains("full 5 tc 7 tcp 1"), "\(out)")
        #expect(eventually(2) { server.responsesLimited == 15 }, "\(server.responsesLimited)")
    }

    @Test("stop closes the listeners and is idempotent")
    func stopCloses() throws {
        let server = try DNSServer(listen: ["127.0.0.1:0"], zone: testZone())
        let port = server.port
        server.stop()
        server.stop()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let rc = DNSSocketAddress(address: [127, 0, 0, 1], port: port).withSockaddr { connect(fd, $0, $1) }
        #expect(rc != 0)
    }

    // Skipped (reported as skipped, with the reason) only where the kernel cannot bind ::1 at all;
    // where it can, a DNSServer that fails to bind [::1] fails the test.
    @Test("an IPv6 loopback listener answers too",
          .enabled(if: ipv6LoopbackAvailable(), "this host cannot bind a socket to ::1 (IPv6 disabled)"))
    func ipv6() throws {
        let server = try DNSServer(listen: ["[::1]:0"], zone: testZone())
        defer { server.stop() }
        #expect(server.boundAddresses.first?.description == "[::1]:\(server.port)")
        let out = try run("/usr/bin/dig", ["@::1", "-p", "\(server.port)", "+tries=1", "+time=3", "n1.relay.example", "AAAA"])
        #expect(out.contains("fd00::1"), "\(out)")
    }
}
