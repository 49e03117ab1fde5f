@testable import ClusterLog
import Foundation
import Glibc
import RelayConfig
import NetworkIO
import Synchronization
import Testing

/// Frames a test transport received.
final class Received: Sendable {
    let v = Mutex<[String]>([])
}

/// A flag set from the loop.
final class Flag: Sendable {
    let v = Mutex(false)
}

@Suite("Peer transport")
struct PeerTransportTests {
    /// Two transports on one loop; returns them after binding both.
    static func pair(secretA: String, secretB: String) throws -> (EventLoop, PeerTransport, PeerTransport, Received) {
        let loop = try EventLoop(name: "pt-test")
        loop.start()
        let a = PeerTransport(loop: loop, nodeID: "a", secret: Array(secretA.utf8), peers: ["b": "127.0.0.1:1"])
        let b = PeerTransport(loop: loop, nodeID: "b", secret: Array(secretB.utf8), peers: ["a": "127.0.0.1:1"])
        let got = Received()
        let ready = DispatchSemaphore(value: 0)
        let boundA = LoopBound(a, loop: loop)
        let boundB = LoopBound(b, loop: loop)
        loop.execute {
            let pa = try! boundA.value.start(listen: "127.0.0.1:0")
            let pb = try! boundB.value.start(listen: "127.0.0.1:0")
            boundA.value.setPeer("b", address: pb.description)
            boundB.value.setPeer("a", address: pa.description)
            boundB.value.onFrame = { peer, frame in
                got.v.withLock { $0.append("\(peer):\(frame.kind):\(String(decoding: frame.payload, as: UTF8.self))") }
            }
            ready.signal()
        }
        ready.wait()
        return (loop, a, b, got)
    }

    /// Stops the transports on their loop, then the loop.
    static func shutdown(_ loop: EventLoop, _ transports: [PeerTransport]) {
        let stopped = DispatchSemaphore(value: 0)
        let bound = LoopBound(transports, loop: loop)
        loop.execute {
            for t in bound.value { t.stop() }
            stopped.signal()
        }
        stopped.wait()
        loop.stop()
        loop.waitUntilStopped()
    }

    static func wait(_ seconds: Double, _ cond: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if cond() { return true }
            usleep(5_000)
        }
        return cond()
    }

    @Test("frames sent on both lanes arrive after the HMAC handshake")
    func delivers() throws {
        let (loop, a, b, got) = try Self.pair(secretA: "s1", secretB: "s1")
        let ba = LoopBound(a, loop: loop)
        loop.execute {
            ba.value.send(PeerFrame(.raft, Array("small".utf8)), to: "b", lane: .control)
            ba.value.send(PeerFrame(.raft, Array("big".utf8)), to: "b", lane: .bulk)
        }
        #expect(Self.wait(5) { got.v.withLock { $0.count } == 2 })
        #expect(Set(got.v.withLock { $0 }) == ["a:raft:small", "a:raft:big"])
        Self.shutdown(loop, [a, b])
    }

    @Test("a peer with the wrong secret is refused and nothing is delivered")
    func wrongSecret() throws {
        let (loop, a, b, got) = try Self.pair(secretA: "right", secretB: "wrong")
        let ba = LoopBound(a, loop: loop)
        let failed = Flag()
        loop.execute {
            ba.value.onUnreachable = { _ in failed.v.withLock { $0 = true } }
            ba.value.send(PeerFrame(.raft, Array("x".utf8)), to: "b", lane: .control)
        }
        #expect(Self.wait(5) { failed.v.withLock { $0 } })
        #expect(got.v.withLock { $0 }.isEmpty)
        Self.shutdown(loop, [a, b])
    }

    @Test("a plain connection gets the health line SENDARIX <id> ok")
    func healthLine() throws {
        let loop = try EventLoop(name: "pt-health")
        loop.start()
        let t = PeerTransport(loop: loop, nodeID: "n7", secret: [1], peers: [:])
        let bt = LoopBound(t, loop: loop)
        let port = Mutex<UInt16>(0)
        let ready = DispatchSemaphore(value: 0)
        loop.execute { port.withLock { $0 = try! bt.value.start(listen: "127.0.0.1:0").port }; ready.signal() }
        ready.wait()
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.withLock { $0 }.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(rc == 0)
        var buf = [UInt8](repeating: 0, count: 64)
        var line: [UInt8] = []
        while !line.contains(0x0A) {
            let n = read(fd, &buf, 64)
            if n <= 0 { break }
            line += buf[0..<n]
        }
        let text = String(decoding: line.prefix { $0 != 0x0A }, as: UTF8.self)
        #expect(text == "SENDARIX n7 ok")
        Self.shutdown(loop, [t])
    }

    @Test("frame reader cuts frames across arbitrary splits and rejects oversized ones")
    func reader() throws {
        var r = PeerFrame.Reader(maxFrame: 100)
        let bytes = PeerFrame(.forward, [1, 2, 3]).encoded() + PeerFrame(.leaderView, [9]).encoded()
        for b in bytes { r.append([b][...]) }
        #expect(try r.frame() == PeerFrame(.forward, [1, 2, 3]))
        #expect(try r.frame() == PeerFrame(.leaderView, [9]))
        #expect(try r.frame() == nil)
        r.append([0, 0, 1, 0, 1][...])
        #expect(throws: ClusterError.self) { try r.frame() }
    }

    @Test("node ids map to stable non-zero raft ids and collisions are refused")
    func ids() throws {
        let m = try NodeIDMap(["n1", "n2", "n3"])
        #expect(m.ids["n1"] == NodeIDMap.raftID("n1"))
        #expect(m.name(NodeIDMap.raftID("n2")) == "n2")
        #expect(Set(m.ids.values).count == 3 && !m.ids.values.contains(0))
        #expect(throws: ClusterError.self) { try NodeIDMap(["n1", "n1"]) }
    }
}

@Suite("Options from the relay config")
struct RaftLogConfigTests {
    @Test("peers, listen address, secret and raft directory come from the config; missing secret is refused")
    func fromConfig() throws {
        var c = RelayConfig()
        c.node.id = "n1"
        c.node.dataDir = "/var/lib/sx"
        c.listen.peer = HostPort("127.0.0.1:7700")
        c.cluster.peers = [.init(id: "n2", address: HostPort("127.0.0.2:7700")!)]
        c.cluster.secret = "s3cret"
        let o = try RaftLog.Options(config: c)
        #expect(o.nodeID == "n1" && o.peers == ["n2": "127.0.0.2:7700"] && o.listen == "127.0.0.1:7700")
        #expect(o.secret == Array("s3cret".utf8) && o.directory == "/var/lib/sx/raft")
        c.cluster.secret = nil
        #expect(throws: ClusterError.self) { try RaftLog.Options(config: c) }
    }
}
