import Foundation
import Glibc
import Testing
import TestSupport

/// `smtp-sink` (Debian's postfix package) as a real receiving MTA on 127.0.0.1: each message is
/// dumped to its own file in `directory`. Extra flags script failures (`-Q MAIL` → 421, `-f RCPT`
/// → 5xx).
final class SinkProcess: @unchecked Sendable {
    // Safe: set up in init, only read afterwards (stop is called once by the owning test).
    let port: UInt16
    let directory: String
    private let process: ChildProcess

    /// With `counting`, smtp-sink runs with `-c` and its running counters go to `counterPath`
    /// (read them with `messagesReceived`). `host`: the loopback address it listens on.
    init(flags: [String] = [], dump: Bool = true, counting: Bool = false, host: String = "127.0.0.1") throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sx-sink-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o777]) // smtp-sink runs as nobody
        // As root smtp-sink insists on dropping privileges (-u); dumps are written as that user.
        let dumpFlags = dump ? ["-d", directory + "/msg."] : []
        // The port was free a moment ago; another test may take it before smtp-sink binds it. Then
        // smtp-sink fails (or something else answers there): start again on a new port.
        var started: (port: UInt16, process: ChildProcess)?
        for attempt in 1...3 {
            let port = try SinkProcess.freePort(host)
            let process = try ChildProcess("/usr/sbin/smtp-sink",
                                           flags + (counting ? ["-c"] : []) + ["-u", "nobody"] + dumpFlags
                                               + ["\(host):\(port)", "100"],
                                           stdoutPath: counting ? directory + "/counter.out" : nil)
            let deadline = Date().addingTimeInterval(60)  // a hang guard: exits end the wait at once
            var listening = false
            while process.isRunning, Date() < deadline {
                if SinkProcess.accepts(port, host: host) && SinkProcess.listens(port, inTreeOf: process.pid) { listening = true; break }
                usleep(20_000)
            }
            if listening {
                started = (port, process)
                break
            }
            process.signal(SIGKILL)
            process.wait()
            if attempt == 3 {
                try? FileManager.default.removeItem(atPath: directory)
                throw HarnessError("smtp-sink did not start listening on \(host) (3 ports tried)")
            }
        }
        guard let started else { throw HarnessError("smtp-sink did not start") }
        port = started.port
        process = started.process
    }

    /// With `counting`: the number of messages smtp-sink has received (its last `mesg=N` counter),
    /// nil before the first one.
    var messagesReceived: Int? {
        guard let data = FileManager.default.contents(atPath: directory + "/counter.out") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let range = text.range(of: "mesg=", options: .backwards) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    /// Message files written so far (contents).
    var messages: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("msg.") }.sorted().compactMap { try? String(contentsOfFile: directory + "/" + $0, encoding: .utf8) }
    }

    /// Kills the sink (it ignores SIGTERM) and removes its directory.
    func stop() {
        process.signal(SIGKILL)
        process.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A port that was free a moment ago on `host` (a loopback address).
    static func freePort(_ host: String = "127.0.0.1") throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw HarnessError("bind for a free port failed") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }

    /// True when `root` or one of its descendants holds a TCP socket listening on `port` (so the
    /// listener there is the child's, not another test's that took the port meanwhile).
    static func listens(_ port: UInt16, inTreeOf root: pid_t) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
        let portSuffix = ":" + String(format: "%04X", Int(port))
        var sockets = Set<String>()
        for line in table.split(separator: "\n").dropFirst() {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
            let f = line.split(separator: " ")
            guard f.count > 9, f[3] == "0A", f[1].hasSuffix(portSuffix) else { continue }
            sockets.insert("socket:[\(f[9])]")
        }
        guard !sockets.isEmpty else { return false }
        var parent: [pid_t: pid_t] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let rest = stat[stat.index(after: close)...].split(separator: " ") // state ppid …
            if rest.count > 1, let ppid = pid_t(rest[1]) { parent[pid] = ppid }
        }
        func inTree(_ pid: pid_t) -> Bool {
            var p = pid
            for _ in 0..<64 where p > 1 {
                if p == root { return true }
                p = parent[p] ?? 0
            }
            return false
        }
        for pid in parent.keys where inTree(pid) {
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? [] {
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                   sockets.contains(target) { return true }
            }
        }
        return false
    }

    /// True when something accepts TCP connections on `host`:`port`.
    static func accepts(_ port: UInt16, host: String = "127.0.0.1") -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(host)
        address.sin_port = port.bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) } } == 0
    }
}

/// Relaying through the real binary: submission with smtplib, delivery by the node's engine to
/// `smtp-sink`, outcomes in the admin events API.
@Suite("Delivery through the binary to smtp-sink", .serialized)
struct DeliveryTests {
    static let send = """
    import smtplib, ssl, sys
    host, port, rcpts = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(host, port, timeout=30)
    s.ehlo("client.test"); s.starttls(context=ctx); s.ehlo("client.test")
    s.login("alice", "s3cret-pass")
    msg = b"From: app@origin.test\\r\\nTo: someone@sink.test\\r\\nSubject: relayed by sendarix\\r\\n\\r\\nhello sink\\r\\n"
    s.sendmail("app@origin.test", rcpts, msg)
    s.quit()
    """

    /// Polls the events API until `predicate` holds for the events of `type` (or 20 s pass).
    func waitForEvents(_ relay: RelayProcess, type: String, _ predicate: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
        let deadline = Date().addingTimeInterval(20)
        var events: [[String: Any]] = []
        while Date() < deadline {
            events = try relay.events("type=\(type)&limit=100")
            if predicate(events) { return events }
            usleep(50_000)
        }
        return events
    }

    static func relayConfig(routes: [[String: Any]]) -> [String: Any] {
        ["delivery": ["enabled": true], "routes": routes]
    }

    @Test("smtplib → Sendarix → smtp-sink: the message arrives and a delivered event records remoteHost and 250")
    func relaysToSink() throws {
        let sink = try SinkProcess()
        defer { sink.stop() }
        let relay = try RelayProcess(overlay: Self.relayConfig(routes: [
            ["domain": "sink.test", "hosts": ["127.0.0.1:\(sink.port)"], "tls": "none"]]))
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "a@sink.test,b@sink.test"])
        #expect(out.status == 0, "\(out.stderr)")
        let delivered = try waitForEvents(relay, type: "delivered") { $0.count >= 2 }
        #expect(delivered.count == 2, "\(relay.log())")
        for event in delivered {
            #expect(event["smtpCode"] as? Int == 250)
            #expect((event["remoteHost"] as? String)?.contains("127.0.0.1]:\(sink.port)") == true)
            #expect(event["attempt"] as? Int == 1)
        }
        #expect(Set(delivered.compactMap { $0["recipient"] as? String }) == ["a@sink.test", "b@sink.test"])
        let dumped = sink.messages.joined()
        #expect(dumped.contains("Subject: relayed by sendarix"))
        #expect(dumped.contains("hello sink"))
        let queue = try relay.adminJSON("/v1/queue")
        #expect((queue["messages"] as? [[String: Any]] ?? []).isEmpty)
    }

    @Test("a sink that answers 421 to MAIL is failed over to the second route host")
    func failsOverBetweenSinks() throws {
        let closing = try SinkProcess(flags: ["-Q", "MAIL"])
        let good = try SinkProcess()
        defer { closing.stop(); good.stop() }
        let relay = try RelayProcess(overlay: Self.relayConfig(routes: [
            ["domain": "sink.test", "hosts": ["127.0.0.1:\(closing.port)", "127.0.0.1:\(good.port)"], "tls": "none"]]))
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "c@sink.test"])
        #expect(out.status == 0, "\(out.stderr)")
        let delivered = try waitForEvents(relay, type: "delivered") { !$0.isEmpty }
        #expect(delivered.count == 1, "\(relay.log())")
        #expect((delivered.first?["remoteHost"] as? String)?.hasSuffix(":\(good.port)") == true)
        #expect(closing.messages.isEmpty)
        #expect(good.messages.count == 1)
    }

    @Test("a sink that rejects RCPT permanently produces a bounced event with code and class")
    func bouncesOnReject() throws {
        let rejecting = try SinkProcess(flags: ["-f", "RCPT", "-B", "550 5.1.1 No such user"])
        defer { rejecting.stop() }
        let relay = try RelayProcess(overlay: Self.relayConfig(routes: [
            ["domain": "sink.test", "hosts": ["127.0.0.1:\(rejecting.port)"], "tls": "none"]]))
        defer { relay.cleanUp() }
        let out = try python(Self.send, ["127.0.0.1", String(relay.port("submission")), "gone@sink.test"])
        #expect(out.status == 0, "\(out.stderr)")
        let bounced = try waitForEvents(relay, type: "bounced") { !$0.isEmpty }
        #expect(bounced.first?["smtpCode"] as? Int == 550, "\(relay.log())")
        #expect(bounced.first?["enhancedCode"] as? String == "5.1.1")
        #expect(bounced.first?["bounceClass"] as? String == "bad-mailbox")
        #expect(!rejecting.messages.joined().contains("hello sink"))
    }
}
