@testable import ClusterLog
import Foundation
import Glibc
import NetworkIO
import Synchronization
import Testing

/// A restarted peer is redialled as soon as it dials in, not when the dial backoff runs out.
@Suite("Peer redial")
struct PeerRedialTests {
    /// A free TCP port on `ip` (bound, read, closed: nothing listens on it afterwards).
    static func freePort(_ ip: String) -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr(ip)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Runs `body` on the loop and waits for it.
    static func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) -> T {
        let out = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        loop.execute {
            out.withLock { $0 = body() }
            done.signal()
        }
        done.wait()
        return out.withLock { $0! }
    }

    @Test("a lane waiting out its dial backoff to a down peer dials at once when that peer dials in")
    func redialWhenPeerDialsIn() throws {
        let loop = try EventLoop(name: "pt-redial")
        loop.start()
        let ip = "127.80.0.1"
        let bPort = Self.freePort(ip)
        let a = PeerTransport(loop: loop, nodeID: "a", secret: Array("s".utf8), peers: ["b": "\(ip):\(bPort)"])
        let b = PeerTransport(loop: loop, nodeID: "b", secret: Array("s".utf8), peers: ["a": "\(ip):1"])
        let got = Received()
        let ba = LoopBound(a, loop: loop)
        let bb = LoopBound(b, loop: loop)
        let aAddress = Self.onLoop(loop) { (try! ba.value.start(listen: "\(ip):0")).description }
        // b is down: a's dial fails and its control lane goes idle with a backoff.
        Self.onLoop(loop) { _ = ba.value.send(PeerFrame(.raft, Array("lost".utf8)), to: "b", lane: .control) }
        #expect(PeerTransportTests.wait(20) {
            Self.onLoop(loop) {
                guard let lane = ba.value.links["b"]?[Int(PeerTransport.Lane.control.rawValue)] else { return false }
                return lane.state == .idle && lane.nextAttempt > 0
            }
        })
        // A long backoff (the real one is at most 2 s: made long so only a redial can deliver),
        // and a frame queued behind it.
        Self.onLoop(loop) {
            let lane = ba.value.links["b"]![Int(PeerTransport.Lane.control.rawValue)]
            lane.nextAttempt = EventLoop.now() + 3_600_000_000_000
            _ = ba.value.send(PeerFrame(.raft, Array("after".utf8)), to: "b", lane: .control)
        }
        // b starts on its address and dials a.
        Self.onLoop(loop) {
            _ = try! bb.value.start(listen: "\(ip):\(bPort)")
            bb.value.setPeer("a", address: aAddress)
            bb.value.onFrame = { peer, frame in
                got.v.withLock { $0.append("\(peer):\(frame.kind):\(String(decoding: frame.payload, as: UTF8.self))") }
            }
            _ = bb.value.send(PeerFrame(.raft, Array("hello".utf8)), to: "a", lane: .control)
        }
        #expect(PeerTransportTests.wait(30) { got.v.withLock { $0.contains("a:raft:after") } })
        #expect(!got.v.withLock { $0.contains("a:raft:lost") })
        PeerTransportTests.shutdown(loop, [a, b])
    }
}
