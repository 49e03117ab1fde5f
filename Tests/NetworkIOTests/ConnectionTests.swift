import Foundation
import Synchronization
import Testing
@testable import NetworkIO

/// Echo server + client on one loop, optionally over TLS, used by the tests below.
final class EchoHarness: ConnectionDelegate, @unchecked Sendable {
    // Safe: every field is touched only on the loop thread; the test thread waits on `done`.
    let loop: EventLoop
    var serverConnections: [Connection] = []
    var received: [UInt8] = []
    var tlsInfo: TLSInfo?
    let done = DispatchSemaphore(value: 0)
    var closeError: NetworkError?

    init(loop: EventLoop) { self.loop = loop }

    func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
        if connection.userInfo == nil {  // server side: echo
            connection.write(Array(bytes))
        } else {
            received += bytes
            if received.count >= 5 { done.signal() }
        }
    }
    func connectionDidClose(_ connection: Connection, error: NetworkError?) {
        if connection.userInfo != nil { closeError = error; done.signal() }
    }
    func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {
        if connection.userInfo != nil {
            tlsInfo = info
            connection.write(Array("hello".utf8))
        }
    }
    func connectionDidConnect(_ connection: Connection) {
        if let ctx = connection.userInfo as? TLSContext {
            connection.startTLS(context: ctx, asClient: true, serverName: "localhost")
        } else {
            connection.write(Array("hello".utf8))
        }
    }
}

final class Marker {}

@Test("plain TCP: a client connection's bytes come back from an echo server on the same loop")
func plainEcho() throws {
    let loop = try EventLoop(name: "test-plain")
    loop.start()
    defer { loop.stop() }
    let h = EchoHarness(loop: loop)
    loop.execute {
        let listener = try! Listener(address: try! SocketAddress(parsing: "127.0.0.1:0"), loop: loop) { fd, remote in
            h.serverConnections.append(try! Connection.accepted(fd: fd, remote: remote, loop: loop, delegate: h))
        }
        try! listener.start()
        let c = try! Connection.connect(to: listener.address, loop: loop, timeout: 5, delegate: h)
        c.userInfo = Marker()
    }
    #expect(h.done.wait(timeout: .now() + 10) == .success)
    #expect(String(decoding: h.received, as: UTF8.self) == "hello")
}

@Test("TLS: a client handshakes with a generated self-signed certificate and echoes over TLS 1.3")
func tlsEcho() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-tls-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try TLSContext.generateSelfSigned(commonName: "localhost", certificatePath: dir + "/cert.pem", keyPath: dir + "/key.pem")
    let server = try TLSContext(serverCertificate: dir + "/cert.pem", privateKey: dir + "/key.pem")
    let client = try TLSContext(clientVerification: .caFile(dir + "/cert.pem"))
    let loop = try EventLoop(name: "test-tls")
    loop.start()
    defer { loop.stop() }
    let h = EchoHarness(loop: loop)
    loop.execute {
        let listener = try! Listener(address: try! SocketAddress(parsing: "127.0.0.1:0"), loop: loop) { fd, remote in
            let c = try! Connection.accepted(fd: fd, remote: remote, loop: loop, delegate: h)
            c.startTLS(context: server)
            h.serverConnections.append(c)
        }
        try! listener.start()
        let c = try! Connection.connect(to: listener.address, loop: loop, timeout: 5, delegate: h)
        c.userInfo = client
    }
    #expect(h.done.wait(timeout: .now() + 10) == .success)
    #expect(String(decoding: h.received, as: UTF8.self) == "hello")
    #expect(h.tlsInfo?.version == "TLSv1.3")
}

@Test("a connect to a closed port reports connectionRefused")
func refused() throws {
    let loop = try EventLoop(name: "test-refused")
    loop.start()
    defer { loop.stop() }
    let h = EchoHarness(loop: loop)
    loop.execute {
        let c = try! Connection.connect(to: try! SocketAddress(parsing: "127.0.0.1:1"), loop: loop, timeout: 5, delegate: h)
        c.userInfo = Marker()
    }
    #expect(h.done.wait(timeout: .now() + 10) == .success)
    #expect(h.closeError?.code == .connectionRefused)
}

@Test("SocketAddress parses and prints IPv4 and IPv6 forms and rejects garbage")
func addresses() throws {
    #expect(try SocketAddress(parsing: "127.0.0.1:25").description == "127.0.0.1:25")
    #expect(try SocketAddress(parsing: "[::1]:587").description == "[::1]:587")
    #expect(throws: NetworkError.self) { try SocketAddress(parsing: "localhost:25") }
    #expect(throws: NetworkError.self) { try SocketAddress(parsing: "1.2.3.4:99999") }
}

@Test("a timer body may schedule further timers (re-arming) without an access conflict")
func timerRearms() throws {
    let loop = try EventLoop(name: "test-timers")
    loop.start()
    defer { loop.stop() }
    final class Counter: @unchecked Sendable { var n = 0; let done = DispatchSemaphore(value: 0) }
    let c = Counter()
    loop.execute {
        func arm() {
            loop.schedule(after: 0.001) {
                c.n += 1
                if c.n < 5 { arm() } else { c.done.signal() }
            }
        }
        arm()
    }
    #expect(c.done.wait(timeout: .now() + 10) == .success)
    #expect(c.n == 5)
}

@Test("Listener.claim refuses an address another socket already listens on, and resolves port 0")
func claimDetectsBusyPort() throws {
    let loop = try EventLoop(name: "test-claim")
    let first = try Listener(address: try Listener.claim(try SocketAddress(parsing: "127.0.0.1:0")), loop: loop) { fd, _ in close(fd) }
    #expect(first.address.port != 0)
    #expect(throws: NetworkError.self) { try Listener.claim(first.address) }
    do {
        _ = try Listener.claim(first.address)
    } catch let e as NetworkError {
        #expect(e.code == .addressInUse)
    }
}
