import DNSCore
import Foundation
import Glibc
import Synchronization
@testable import DNSService
import TestSupport

func name(_ text: String) -> DNSName { try! DNSName(text) }
func ip(_ text: String) -> [UInt8] { DNSIPAddress.parse(text)! }

/// eu: 192.0.2.0/24 + 127.0.0.0/8 (so local dig queries land in eu), us: 198.51.100.0/24.
func testZone(healthy: [String: Bool] = [:], extraNodes: Int = 0) -> DNSResponder.Zone {
    var nodes = [
        DNSResponder.Zone.Node(id: "n1", name: name("n1.relay.example"), ipv4: [ip("10.0.0.1")], ipv6: [ip("fd00::1")],
                               region: "eu", healthy: healthy["n1"] ?? true),
        DNSResponder.Zone.Node(id: "n2", name: name("n2.relay.example"), ipv4: [ip("10.0.0.2")], region: "eu",
                               healthy: healthy["n2"] ?? true),
        DNSResponder.Zone.Node(id: "n3", name: name("n3.relay.example"), ipv4: [ip("10.0.0.3")], region: "us",
                               healthy: healthy["n3"] ?? true),
    ]
    for i in 0..<extraNodes {
        nodes.append(.init(id: "x\(i)", name: name("x\(i).relay.example"), ipv4: [[10, 9, UInt8(i / 256), UInt8(i % 256)]], region: "eu"))
    }
    return DNSResponder.Zone(
        origin: name("relay.example"), ingressName: name("smtp.relay.example"), ttl: 60,
        soa: .init(serial: 42, minimum: 30), nodes: nodes,
        regions: [.init(cidr: "192.0.2.0/24", region: "eu")!, .init(cidr: "127.0.0.0/8", region: "eu")!,
                  .init(cidr: "198.51.100.0/24", region: "us")!],
        txt: [name("relay.example"): ["v=spf1 -all"]])
}

/// Runs a program, returning its combined output. Blocks until it exits (SIGKILLed after
/// `timeout` seconds). Through `ChildProcess` (not Foundation's `Process`, no pipe): output goes to a
/// temporary file and the child is reaped by pid.
func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> String {
    let outPath = NSTemporaryDirectory() + "sx-dns-run-\(UUID().uuidString).out"
    defer { unlink(outPath) }
    let child = try ChildProcess(executable, arguments, stdoutPath: outPath, stderrPath: outPath, appendOutput: true)
    child.wait(timeout: timeout)
    return String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass; true if it held.
func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// `dig @127.0.0.1 -p PORT args…` with one try and a short timeout.
func dig(_ port: UInt16, _ args: [String]) throws -> String {
    try run("/usr/bin/dig", ["@127.0.0.1", "-p", "\(port)", "+tries=1", "+time=3"] + args)
}

/// Runs a dnspython snippet with PORT defined.
func python(_ port: UInt16, _ code: String) throws -> String {
    try run("/usr/bin/python3", ["-c", "PORT = \(port)\n" + code])
}

/// Answer-section addresses from dig output (`name TTL IN A addr`).
func digAddresses(_ output: String) -> Set<String> {
    var result = Set<String>()
    var inAnswer = false
    for line in output.split(separator: "\n") {
        if line.hasPrefix(";; ANSWER SECTION") { inAnswer = true; continue }
        if line.hasPrefix(";;") || line.isEmpty { inAnswer = false; continue }
        guard inAnswer else { continue }
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if fields.count >= 5, fields[3] == "A" || fields[3] == "AAAA" { result.insert(String(fields[4])) }
    }
    return result
}

/// A scripted DNS server for resolver tests: UDP and TCP on 127.0.0.1, replies from `handler`
/// (nil = stay silent). Records every question it sees.
final class FakeDNSServer: Sendable {
    typealias Handler = @Sendable (_ query: DNSMessage, _ overTCP: Bool) -> DNSMessage?
    let port: UInt16
    let seen = Mutex<[(DNSMessage.Question, Bool)]>([])
    private let udp: Int32
    private let tcp: Int32
    private let handler: Handler
    private let stopped = Atomic<Bool>(false)
    private let done = Mutex<DNSThread?>(nil)

    init(handler: @escaping Handler) throws {
        // Borrow DNSServer's binding logic through a throwaway server is overkill; bind directly.
        var u: Int32 = -1, t: Int32 = -1, p: UInt16 = 0
        for _ in 0..<20 {
            u = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            let any = DNSSocketAddress(address: [127, 0, 0, 1], port: 0)
            _ = any.withSockaddr { bind(u, $0, $1) }
            p = DNSSocket.localAddress(u)!.port
            t = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if DNSSocketAddress(address: [127, 0, 0, 1], port: p).withSockaddr({ bind(t, $0, $1) }) == 0, listen(t, 16) == 0 { break }
            close(u); close(t)
        }
        udp = u; tcp = t; port = p
        self.handler = handler
        let thread = try DNSThread { [self] in self.loop() }
        done.withLock { $0 = thread }
    }

    var address: String { "127.0.0.1:\(port)" }
    var questionCount: Int { seen.withLock { $0.count } }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        done.withLock { $0 }?.join()
        close(udp); close(tcp)
    }

    private func answer(_ bytes: [UInt8], tcp overTCP: Bool) -> [UInt8]? {
        guard let query = try? DNSMessage(decoding: bytes) else { return nil }
        seen.withLock { $0.append((query.questions.first ?? .init(name: .root, type: .a), overTCP)) }
        guard var reply = handler(query, overTCP) else { return nil }
        reply.id = query.id
        reply.isResponse = true
        if reply.questions.isEmpty { reply.questions = query.questions }
        return reply.encoded()
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !stopped.load(ordering: .relaxed) {
            var fds = [pollfd(fd: udp, events: Int16(POLLIN), revents: 0), pollfd(fd: tcp, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, 50) > 0 else { continue }
            if fds[0].revents != 0 {
                var storage = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = buffer.withUnsafeMutableBytes { raw in
                    withUnsafeMutablePointer(to: &storage) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, raw.baseAddress, raw.count, 0, $0, &length) }
                    }
                }
                if n > 0, let reply = answer(Array(buffer[0..<n]), tcp: false) {
                    _ = reply.withUnsafeBytes { raw in
                        withUnsafePointer(to: &storage) {
                            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udp, raw.baseAddress, raw.count, 0, $0, length) }
                        }
                    }
                }
            }
            if fds[1].revents != 0 {
                let c = accept(tcp, nil, nil)
                guard c >= 0 else { continue }
                var tv = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var input: [UInt8] = []
                while true {
                    if input.count >= 2, input.count >= 2 + (Int(input[0]) << 8 | Int(input[1])) { break }
                    let n = buffer.withUnsafeMutableBytes { recv(c, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    input += buffer[0..<n]
                }
                if input.count >= 2, input.count >= 2 + (Int(input[0]) << 8 | Int(input[1])),
                   let reply = answer(Array(input[2...]), tcp: true) {
                    let framed = [UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply
                    _ = framed.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                close(c)
            }
        }
    }
}

/// True when the kernel lets a socket bind ::1 (port 0): decides whether IPv6 loopback tests can
/// run here. Independent of `DNSServer` so that a server bug cannot turn itself into a skip.
func ipv6LoopbackAvailable() -> Bool {
    let fd = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var sin6 = sockaddr_in6()
    sin6.sin6_family = sa_family_t(AF_INET6)
    sin6.sin6_port = 0
    sin6.sin6_addr = in6addr_loopback
    let rc = withUnsafePointer(to: &sin6) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
    }
    return rc == 0
}
