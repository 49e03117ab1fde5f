@testable import ClusterLog
import Foundation
import Glibc
import NetworkIO
import SpoolStore
import Synchronization
import Testing

/// Security events a transport reported.
final class SecurityEvents: Sendable {
    let v = Mutex<[String]>([])
    func contains(_ s: String) -> Bool { v.withLock { $0.contains { $0.contains(s) } } }
}

@Suite("Peer transport over mutual TLS")
struct PeerTLSTests {
    /// Transport `server` (listening) and `client` (dialling it) on one loop. `client` claims id
    /// `clientID` and knows the server as `serverID` at `via(port)` (default: the server's port).
    struct Pair {
        let loop: EventLoop
        let server: PeerTransport
        let client: PeerTransport
        let got = Received()
        let serverEvents = SecurityEvents()
        let clientEvents = SecurityEvents()
        let serverPort: UInt16

        init(serverID: String = "n1", serverTLS: PeerTransport.TLSFiles?, clientID: String,
             clientTLS: PeerTransport.TLSFiles?, handshakeTimeout: Double = 5, via: ((UInt16) throws -> UInt16)? = nil) throws {
            signal(SIGPIPE, SIG_IGN)  // as the node does: OpenSSL writes to peers that hang up
            loop = try EventLoop(name: "tls-test")
            loop.start()
            server = PeerTransport(loop: loop, nodeID: serverID, secret: Array("s".utf8), peers: [clientID: "127.0.0.1:1"])
            client = PeerTransport(loop: loop, nodeID: clientID, secret: Array("s".utf8), peers: [serverID: "127.0.0.1:1"])
            if let serverTLS { try server.enableTLS(serverTLS) }
            if let clientTLS { try client.enableTLS(clientTLS) }
            server.handshakeTimeout = handshakeTimeout
            let (s, got, se, ce) = (LoopBound(server, loop: loop), got, serverEvents, clientEvents)
            let c = LoopBound(client, loop: loop)
            let port = Mutex<UInt16>(0)
            let ready = DispatchSemaphore(value: 0)
            loop.execute {
                port.withLock { $0 = try! s.value.start(listen: "127.0.0.1:0").port }
                s.value.onFrame = { peer, frame in
                    got.v.withLock { $0.append("\(peer):\(String(decoding: frame.payload, as: UTF8.self))") }
                }
                s.value.onSecurityEvent = { e, f in se.v.withLock { $0.append("\(e) \(f)") } }
                c.value.onSecurityEvent = { e, f in ce.v.withLock { $0.append("\(e) \(f)") } }
                ready.signal()
            }
            ready.wait()
            serverPort = port.withLock { $0 }
            let dial = try via?(serverPort) ?? serverPort
            let sid = serverID
            loop.execute { c.value.setPeer(sid, address: "127.0.0.1:\(dial)") }
        }

        /// Sends `payload` from the client to the server on both lanes.
        func send(_ payload: [UInt8], to id: String = "n1") {
            let c = LoopBound(client, loop: loop)
            loop.execute {
                c.value.send(PeerFrame(.raft, payload), to: id, lane: .control)
                c.value.send(PeerFrame(.raft, payload), to: id, lane: .bulk)
            }
        }

        /// Both sides' security events and the client's last link errors, for failure messages.
        var events: String {
            let c = LoopBound(client, loop: loop)
            let info = Mutex<[PeerTransport.PeerInfo]>([])
            let done = DispatchSemaphore(value: 0)
            loop.execute { info.withLock { $0 = c.value.peerInfo() }; done.signal() }
            done.wait()
            return "server: \(serverEvents.v.withLock { $0 }) client: \(clientEvents.v.withLock { $0 }) "
                + "links: \(info.withLock { $0 }.map { "\($0.id) \($0.lastError ?? "-")" })"
        }

        func shutdown() { PeerTransportTests.shutdown(loop, [server, client]) }
    }

    @Test("frames cross a mutual-TLS link when both certificates come from the cluster CA and name the nodes")
    func delivers() throws {
        let pki = try TestPKI()
        let p = try Pair(serverTLS: try pki.issue("n1"), clientID: "n2", clientTLS: try pki.issue("n2"))
        p.send(Array("hello".utf8))
        #expect(PeerTransportTests.wait(10) { p.got.v.withLock { $0.count } == 2 }, "\(p.events)")
        #expect(p.got.v.withLock { $0 } == ["n2:hello", "n2:hello"])
        p.shutdown()
    }

    @Test("a node whose certificate names n2 but which claims to be n3 is refused and logged")
    func impersonation() throws {
        let pki = try TestPKI()
        let p = try Pair(serverTLS: try pki.issue("n1"), clientID: "n3", clientTLS: try pki.issue("n2"))
        p.send(Array("forged".utf8), to: "n1")
        #expect(PeerTransportTests.wait(10) { p.serverEvents.contains("does not name the node it claims") })
        #expect(p.serverEvents.contains("claimed n3"))
        #expect(p.got.v.withLock { $0 }.isEmpty)
        p.shutdown()
    }

    @Test("a server whose certificate names another node than the one dialled is refused by the client")
    func serverImpersonation() throws {
        let pki = try TestPKI()
        // The dialler expects n1 behind the address, the listener's certificate names n4.
        let p = try Pair(serverTLS: try pki.issue("n4"), clientID: "n2", clientTLS: try pki.issue("n2"))
        p.send(Array("to-the-wrong-node".utf8))
        #expect(PeerTransportTests.wait(10) { p.clientEvents.contains("does not name the node dialled") })
        #expect(p.got.v.withLock { $0 }.isEmpty)
        p.shutdown()
    }

    @Test("a node with a certificate from another CA is refused at the TLS handshake")
    func otherCA() throws {
        let pki = try TestPKI()
        let rogue = try TestPKI(name: "rogue")
        // The intruder trusts the real CA (so it accepts the server) but its own certificate,
        // naming a real member, comes from another CA.
        let p = try Pair(serverTLS: try pki.issue("n1"), clientID: "n2", clientTLS: try rogue.issue("n2", trust: pki.caFile))
        p.send(Array("rogue".utf8))
        #expect(PeerTransportTests.wait(10) { p.serverEvents.contains("peer TLS handshake failed") })
        #expect(p.serverEvents.contains("certificate"))
        #expect(p.got.v.withLock { $0 }.isEmpty)
        p.shutdown()
    }

    @Test("a captured peer stream carries no plaintext with TLS, and does without (the capture works)")
    func noPlaintext() throws {
        for tls in [true, false] {
            let pki = try TestPKI()
            let marker = "MARKER-\(UUID().uuidString)"
            let proxy = Mutex<CaptureProxy?>(nil)
            let p = try Pair(serverTLS: tls ? try pki.issue("n1") : nil, clientID: "n2",
                             clientTLS: tls ? try pki.issue("n2") : nil, via: { port in
                let x = try CaptureProxy(targetPort: port)
                proxy.withLock { $0 = x }
                return x.port
            })
            let capture = proxy.withLock { $0 }!
            let body = "Subject: secret\r\n\r\n\(marker)\r\n"
            let enqueue = SpoolCommand.enqueue(SpoolCommand.Enqueue(
                queueID: "Q1", sender: "a@example.com", recipients: [.init(address: "b@example.org")],
                receivedAt: 1_700_000_000_000, body: Array(body.utf8)))
            p.send(enqueue.encoded())
            #expect(PeerTransportTests.wait(10) { p.got.v.withLock { $0.count } == 2 })
            #expect(p.got.v.withLock { $0 }.allSatisfy { $0.contains(marker) })
            #expect(capture.saw("SENDARIX n1 ok"))  // the health line stays readable for probes
            #expect(capture.saw(marker) == !tls, "tls \(tls): marker seen = \(capture.saw(marker))")
            p.shutdown()
            capture.stop()
        }
    }

    @Test("an accepted peer connection that never completes the handshake is closed after the deadline")
    func handshakeDeadline() throws {
        let pki = try TestPKI()
        let p = try Pair(serverTLS: try pki.issue("n1"), clientID: "n2", clientTLS: try pki.issue("n2"), handshakeTimeout: 0.5)
        let fd = Self.dial(p.serverPort)
        defer { close(fd) }
        let (line, eof) = Self.readUntilEOF(fd)
        #expect(String(decoding: line, as: UTF8.self) == "SENDARIX n1 ok\n")
        #expect(eof, "the server kept the silent connection open")
        #expect(p.serverEvents.contains("handshake deadline"))
        p.shutdown()
    }

    @Test("a dialled peer that sends its greeting and then stalls the TLS handshake is dropped after the deadline")
    func outboundDeadline() throws {
        let pki = try TestPKI()
        // A listener that greets like a node and then never answers the ClientHello.
        let l = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = bind(l, $0, len); _ = listen(l, 4); return getsockname(l, $0, &len) } }
        let stallPort = UInt16(bigEndian: addr.sin_port)
        let accepted = Mutex<[Int32]>([])
        Thread.detachNewThread {
            while true {
                let c = accept(l, nil, nil)
                if c < 0 { return }
                _ = "SENDARIX n1 ok\n".withCString { send(c, $0, 15, Int32(MSG_NOSIGNAL)) }
                accepted.withLock { $0.append(c) }
            }
        }
        let p = try Pair(serverTLS: try pki.issue("n1"), clientID: "n2", clientTLS: try pki.issue("n2"), via: { _ in stallPort })
        let cl = LoopBound(p.client, loop: p.loop)
        let set = DispatchSemaphore(value: 0)
        p.loop.execute { cl.value.handshakeTimeout = 0.5; set.signal() }
        set.wait()
        p.send(Array("stalled".utf8))
        #expect(PeerTransportTests.wait(20) { p.events.contains("peer handshake not finished") }, "\(p.events)")
        #expect(p.clientEvents.contains("peer TLS handshake failed"))
        p.shutdown()
        shutdown(l, Int32(SHUT_RDWR))
        close(l)
        for c in accepted.withLock({ $0 }) { close(c) }
    }

    @Test("pending handshakes from one source IP beyond the limit are closed on accept")
    func pendingLimit() throws {
        let pki = try TestPKI()
        let p = try Pair(serverTLS: try pki.issue("n1"), clientID: "n2", clientTLS: try pki.issue("n2"))
        let s = LoopBound(p.server, loop: p.loop)
        let set = DispatchSemaphore(value: 0)
        p.loop.execute { s.value.maxPendingHandshakesPerIP = 2; set.signal() }
        set.wait()
        let first = [Self.dial(p.serverPort), Self.dial(p.serverPort)]
        // Both pending ones got their greeting before the third arrives.
        for fd in first { #expect(Self.readLine(fd) == "SENDARIX n1 ok") }
        let third = Self.dial(p.serverPort)
        let (bytes, eof) = Self.readUntilEOF(third)
        #expect(bytes.isEmpty && eof)
        #expect(p.serverEvents.contains("too many pending handshakes"))
        for fd in first + [third] { close(fd) }
        p.shutdown()
    }

    @Test("a 3-node cluster over mutual TLS elects a leader and commits proposals on every node")
    func cluster() throws {
        let pki = try TestPKI()
        let files = try ["n1", "n2", "n3"].map { try pki.issue($0) }
        signal(SIGPIPE, SIG_IGN)
        let lines = LogLines()
        let c = try ClusterHarness(nodes: 3, logLines: lines) { o in
            o.tls = files[Int(o.nodeID.dropFirst())! - 1]
        }
        #expect(c.awaitLeader() != nil)
        let ids = (0..<20).map { "T\($0)" }
        let results = RaftLogClusterTests.proposeAll(ids, on: c.running)
        #expect(results.values.compactMap { try? $0.get() }.count == ids.count,
                "failures: \(results.values.filter { (try? $0.get()) == nil })")
        #expect(c.wait(10) { c.names.allSatisfy { RaftLogClusterTests.has(c.stores[$0]!, ids) } })
        #expect(c.running.allSatisfy { $0.onLoop { $0.transport.tlsEnabled } })
        #expect(!lines.contains("peer connection refused"))
    }

    // MARK: - Raw sockets

    static func dial(_ port: UInt16) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 20, tv_usec: 0)  // safety net only: a hung test fails instead of hanging
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return fd
    }

    static func readLine(_ fd: Int32) -> String {
        var line: [UInt8] = []
        var b: UInt8 = 0
        while read(fd, &b, 1) == 1 && b != 0x0A { line.append(b) }
        return String(decoding: line, as: UTF8.self)
    }

    /// Reads until the peer closes (true) or the read fails / times out (false).
    static func readUntilEOF(_ fd: Int32) -> ([UInt8], Bool) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n == 0 { return (out, true) }
            if n < 0 { return (out, errno == ECONNRESET) }
            out += buf[0..<n]
        }
    }
}
