import DNSCore
import DNSService
import Foundation
import Glibc
import Synchronization

/// Test zones served by `DNSService.DNSServer` on 127.0.0.1 port 0: `<zone>` has an MX pointing
/// at `mx.<zone>`, whose A records are the given addresses; other names under the zone are NXDOMAIN.
func startZone(_ zone: String, addresses: [String]) throws -> DNSServer {
    let nodes = try addresses.enumerated().map { index, address in
        try DNSResponder.Zone.Node(id: "n\(index)", name: "n\(index).\(zone)", addresses: [address])
    }
    let z = try DNSResponder.Zone(origin: zone, ingressName: "mx.\(zone)", ttl: 60, nodes: nodes)
    return try DNSServer(listen: ["127.0.0.1:0"], zone: z)
}

/// A UDP-only DNS server on 127.0.0.1 answering every query with `answer` (tests of null MX).
final class ScriptedDNS: @unchecked Sendable {
    // Safe: `fd` is immutable after init; the thread only reads it; `stopped` is atomic.
    let port: UInt16
    private let fd: Int32
    private let stopped = Atomic<Bool>(false)
    private let answer: @Sendable (DNSMessage) -> DNSMessage

    init(answer: @escaping @Sendable (DNSMessage) -> DNSMessage) throws {
        self.answer = answer
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        _ = length
        let thread = Thread { [self] in self.run() }
        thread.start()
    }

    var address: String { "127.0.0.1:\(port)" }

    func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped.load(ordering: .relaxed) {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 50) > 0 else { continue }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &length) }
                }
            }
            guard n > 0, let query = try? DNSMessage(decoding: Array(buffer[0..<n])) else { continue }
            var reply = answer(query)
            reply.id = query.id
            reply.isResponse = true
            if reply.questions.isEmpty { reply.questions = query.questions }
            let bytes = reply.encoded()
            _ = bytes.withUnsafeBytes { raw in
                withUnsafePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, length) }
                }
            }
        }
        close(fd)
    }
}
