import Foundation
import Glibc
import RelayConfig
import Synchronization

/// The receiver simulator: an SMTP server on a loopback port of this node that the delivery engine
/// reaches through an ordinary static route for `bounces.simulator.domain` (and for every message of
/// a sandboxed user). It answers like a real receiver, chosen by the recipient's local part (text
/// after a `+` is ignored, so `bounce+test1@…` behaves as `bounce@…`):
///
/// | local part | behaviour | events |
/// |---|---|---|
/// | `success` (and any other) | 250 | delivered |
/// | `bounce` | 250, then a DSN (5.1.1) to the VERP return path | delivered, later bounced + suppression |
/// | `reject` | 550 5.1.1 at RCPT | bounced + suppression |
/// | `softbounce` | 452 4.2.2 mailbox full at RCPT | deferred (retried) |
/// | `ooto` | 250, then an RFC 3834 auto reply to the return path | delivered (the reply is logged, no event) |
/// | `complaint` | 250, then an ARF report to the first `bounces.feedbackAddresses` (else the return path) | delivered, later complained + suppression |
/// | `suppressionlist` | treated as suppressed by the engine (never connects) | suppressed |
/// | `greylist` | 451 4.7.1 until `greylistSeconds` after the first try, then 250 | deferred, then delivered |
/// | `tempfail` | 421 4.7.0 and the connection closed | deferred |
/// | `timeout` | no reply after RCPT: the engine's reply timeout fires | deferred (timeout) |
/// | `slow` | waits `slowSeconds` before its RCPT and end-of-data replies, then 250 | delivered |
///
/// Mail of a sandboxed user to any other domain is accepted as `success`. Nothing here leaves the
/// node: asynchronous reports go to this node's own relay listener over SMTP (or straight to the
/// feedback processor when no relay listener is configured).
///
/// A thread per connection (the simulator is a test facility, not a hot path). Thread-safe.
final class ReceiverSimulator: @unchecked Sendable {
    // Safe: `listenFD` is set once in `start` before the accept thread runs; `firstSeen` and
    // `connections` are guarded by `lock`.
    let settings: RelayConfig.Simulator
    let feedbackAddress: String?
    let hostname = "simulator.sendarix.invalid"
    /// Hands an asynchronous report (DSN, ARF, auto reply) on: (recipient, message bytes).
    let send: @Sendable (_ to: String, _ message: [UInt8]) -> Void
    let logger: NodeLogger
    private var listenFD: Int32 = -1
    private let lock = NSLock()
    private var firstSeen: [String: Date] = [:]
    private var connections: Set<Int32> = []
    private let stopped = Atomic<Bool>(false)
    private let counter = Atomic<Int>(0)

    init(settings: RelayConfig.Simulator, feedbackAddress: String?, logger: NodeLogger,
         send: @escaping @Sendable (_ to: String, _ message: [UInt8]) -> Void) {
        self.settings = settings
        self.feedbackAddress = feedbackAddress
        self.logger = logger
        self.send = send
    }

    /// Binds 127.0.0.1 on a free port and starts accepting; returns the port.
    func start() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Bool in
                bind(fd, sa, len) == 0 && listen(fd, 64) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        listenFD = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "sendarix.simulator"
        thread.start()
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Stops accepting and hangs up every open connection.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        Glibc.shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        lock.lock()
        for c in connections { Glibc.shutdown(c, Int32(SHUT_RDWR)) }
        lock.unlock()
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            lock.lock()
            connections.insert(c)
            lock.unlock()
            let thread = Thread { [self] in
                serve(LineSocket(fd: c))
                lock.lock()
                connections.remove(c)
                lock.unlock()
                close(c)
            }
            thread.start()
        }
    }

    /// Behaviour for one recipient address.
    enum Behaviour: String {
        case success, bounce, reject, softbounce, ooto, complaint, suppressionlist, greylist, tempfail, timeout, slow
    }

    func behaviour(_ address: String) -> Behaviour {
        let lower = address.lowercased()
        guard lower.hasSuffix("@" + settings.domain) else { return .success }
        let local = lower.split(separator: "@")[0].split(separator: "+")[0]
        return Behaviour(rawValue: String(local)) ?? .success
    }

    /// True for the simulator's suppression-list address (the engine hook).
    func isSuppressionListAddress(_ address: String) -> Bool { behaviour(address) == .suppressionlist }

    private func serve(_ s: LineSocket) {
        s.write("220 \(hostname) ESMTP receiver simulator\r\n")
        var sender = ""
        var accepted: [(String, Behaviour)] = []
        var slow = false
        while let line = s.readLine() {
            let upper = line.uppercased()
            if upper.hasPrefix("EHLO") {
                s.write("250-\(hostname)\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n")
            } else if upper.hasPrefix("HELO") {
                s.write("250 \(hostname)\r\n")
            } else if upper.hasPrefix("MAIL FROM:") {
                sender = Self.path(line.dropFirst(10))
                accepted = []
                slow = false
                s.write("250 2.1.0 OK\r\n")
            } else if upper.hasPrefix("RCPT TO:") {
                let rcpt = Self.path(line.dropFirst(8))
                let b = behaviour(rcpt)
                switch b {
                case .reject, .suppressionlist:
                    s.write("550 5.1.1 <\(rcpt)>: Recipient address rejected: User unknown in virtual mailbox table (simulated)\r\n")
                case .softbounce:
                    s.write("452 4.2.2 <\(rcpt)>: mailbox full (simulated)\r\n")
                case .tempfail:
                    s.write("421 4.7.0 \(hostname) Too many connections, try again later (simulated)\r\n")
                    return
                case .timeout:
                    // Say nothing more; the client gives up when its reply timeout fires.
                    while s.readLine() != nil {}
                    return
                case .greylist:
                    let now = Date()
                    lock.lock()
                    let first = firstSeen[rcpt] ?? now
                    firstSeen[rcpt] = first
                    lock.unlock()
                    if now.timeIntervalSince(first) < Double(settings.greylistSeconds) {
                        s.write("451 4.7.1 <\(rcpt)>: Recipient address rejected: Greylisted, try again in \(settings.greylistSeconds) seconds (simulated)\r\n")
                    } else {
                        accepted.append((rcpt, b))
                        s.write("250 2.1.5 OK\r\n")
                    }
                case .slow:
                    slow = true
                    Thread.sleep(forTimeInterval: Double(settings.slowSeconds))
                    accepted.append((rcpt, b))
                    s.write("250 2.1.5 OK\r\n")
                default:
                    accepted.append((rcpt, b))
                    s.write("250 2.1.5 OK\r\n")
                }
            } else if upper == "DATA" {
                guard !accepted.isEmpty else {
                    s.write("554 5.5.1 No valid recipients\r\n")
                    continue
                }
                s.write("354 End data with <CR><LF>.<CR><LF>\r\n")
                var message: [UInt8] = []
                while let l = s.readLine() {
                    if l == "." { break }
                    message += Array((l.hasPrefix("..") ? String(l.dropFirst()) : l).utf8) + [13, 10]
                }
                if slow { Thread.sleep(forTimeInterval: Double(settings.slowSeconds)) }
                let id = "sim\(counter.wrappingAdd(1, ordering: .relaxed).newValue)"
                s.write("250 2.0.0 Ok: queued as \(id)\r\n")
                scheduleReports(sender: sender, accepted: accepted, message: message)
            } else if upper == "RSET" {
                accepted = []
                s.write("250 2.0.0 OK\r\n")
            } else if upper == "NOOP" {
                s.write("250 2.0.0 OK\r\n")
            } else if upper == "QUIT" {
                s.write("221 2.0.0 Bye\r\n")
                return
            } else {
                s.write("502 5.5.2 Command not recognized\r\n")
            }
        }
    }

    /// DSNs, complaints and auto replies for what was just accepted, after `asyncDelaySeconds`.
    private func scheduleReports(sender: String, accepted: [(String, Behaviour)], message: [UInt8]) {
        guard !sender.isEmpty else { return }
        let headers = Self.headerBlock(message)
        var reports: [(String, [UInt8])] = []
        for (rcpt, b) in accepted {
            switch b {
            case .bounce: reports.append((sender, dsn(to: sender, recipient: rcpt, headers: headers)))
            case .complaint:
                reports.append((feedbackAddress ?? sender, arf(to: feedbackAddress ?? sender, mailFrom: sender, recipient: rcpt, message: message)))
            case .ooto: reports.append((sender, autoReply(to: sender, from: rcpt, headers: headers)))
            default: break
            }
        }
        guard !reports.isEmpty else { return }
        let send = self.send
        let ready = reports
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(settings.asyncDelaySeconds)) {
            for (to, bytes) in ready { send(to, bytes) }
        }
    }

    static func headerBlock(_ message: [UInt8]) -> String {
        let text = String(decoding: message, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return text }
        return String(text[..<end.lowerBound]) + "\r\n"
    }

    static func header(_ name: String, in headers: String) -> String {
        for line in headers.components(separatedBy: "\r\n") where line.lowercased().hasPrefix(name.lowercased() + ":") {
            return line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
        }
        return ""
    }

    private func envelopeHeaders(from: String, to: String, subject: String, extra: String = "") -> String {
        "From: \(from)\r\nTo: <\(to)>\r\nSubject: \(subject)\r\nDate: \(Self.rfc5322Date())\r\n"
            + "Message-ID: <\(UUID().uuidString.lowercased())@\(hostname)>\r\nMIME-Version: 1.0\r\n\(extra)"
    }

    func dsn(to: String, recipient: String, headers: String) -> [UInt8] {
        let boundary = "sim-\(UUID().uuidString)"
        let text = envelopeHeaders(from: "MAILER-DAEMON@\(hostname)", to: to, subject: "Undelivered Mail Returned to Sender",
                                   extra: "Auto-Submitted: auto-replied\r\n")
            + "Content-Type: multipart/report; report-type=delivery-status; boundary=\"\(boundary)\"\r\n\r\n"
            + "--\(boundary)\r\nContent-Type: text/plain\r\n\r\n"
            + "I'm sorry to have to inform you that your message could not be delivered (simulated).\r\n\r\n"
            + "<\(recipient)>: host \(hostname) said: 550 5.1.1 <\(recipient)>: Recipient address rejected: User unknown\r\n\r\n"
            + "--\(boundary)\r\nContent-Type: message/delivery-status\r\n\r\n"
            + "Reporting-MTA: dns; \(hostname)\r\nArrival-Date: \(Self.rfc5322Date())\r\n\r\n"
            + "Final-Recipient: rfc822; \(recipient)\r\nOriginal-Recipient: rfc822; \(recipient)\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            + "Remote-MTA: dns; \(hostname)\r\n"
            + "Diagnostic-Code: smtp; 550 5.1.1 <\(recipient)>: Recipient address rejected: User unknown in virtual mailbox table\r\n\r\n"
            + "--\(boundary)\r\nContent-Type: text/rfc822-headers\r\n\r\n\(headers)\r\n--\(boundary)--\r\n"
        return Array(text.utf8)
    }

    func arf(to: String, mailFrom: String, recipient: String, message: [UInt8]) -> [UInt8] {
        let boundary = "sim-\(UUID().uuidString)"
        let text = envelopeHeaders(from: "feedback@\(hostname)", to: to, subject: "Email Feedback Report (simulated)")
            + "Content-Type: multipart/report; report-type=feedback-report; boundary=\"\(boundary)\"\r\n\r\n"
            + "--\(boundary)\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report (simulated).\r\n\r\n"
            + "--\(boundary)\r\nContent-Type: message/feedback-report\r\n\r\n"
            + "Feedback-Type: abuse\r\nUser-Agent: SendarixSimulator/1.0\r\nVersion: 1\r\n"
            + "Original-Mail-From: <\(mailFrom)>\r\nOriginal-Rcpt-To: <\(recipient)>\r\nArrival-Date: \(Self.rfc5322Date())\r\n"
            + "Source-IP: 127.0.0.1\r\n\r\n"
            + "--\(boundary)\r\nContent-Type: message/rfc822\r\n\r\n"
            + String(decoding: message, as: UTF8.self) + "\r\n--\(boundary)--\r\n"
        return Array(text.utf8)
    }

    func autoReply(to: String, from: String, headers: String) -> [UInt8] {
        let subject = Self.header("Subject", in: headers)
        let text = envelopeHeaders(from: "<\(from)>", to: to, subject: "Out of Office: \(subject)",
                                   extra: "Auto-Submitted: auto-replied\r\nIn-Reply-To: \(Self.header("Message-ID", in: headers))\r\n")
            + "Content-Type: text/plain\r\n\r\nI am out of the office until next week (simulated).\r\n"
        return Array(text.utf8)
    }

    static func path<S: StringProtocol>(_ argument: S) -> String {
        let t = argument.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("<"), let close = t.firstIndex(of: ">") else {
            return String(t.split(separator: " ").first ?? "")
        }
        return String(t[t.index(after: t.startIndex)..<close])
    }

    static func rfc5322Date() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss +0000"
        return f.string(from: Date())
    }

    /// Sends `message` from the null sender to `to` over SMTP at `host`:`port` (this node's relay
    /// listener; IPv4). Blocks; returns the final reply line, or nil on a connection failure.
    static func submit(to: String, message: [UInt8], host: String, port: UInt16) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr(host == "0.0.0.0" ? "127.0.0.1" : host)
        let connected = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else { return nil }
        let s = LineSocket(fd: fd)
        func reply() -> String? {
            while let line = s.readLine() {
                if line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { return line }
            }
            return nil
        }
        guard reply()?.hasPrefix("220") == true else { return nil }
        var body = ""
        for line in String(decoding: message, as: UTF8.self).components(separatedBy: "\r\n") {
            body += (line.hasPrefix(".") ? "." : "") + line + "\r\n"
        }
        for (command, expect) in [("EHLO simulator.sendarix.invalid", "250"), ("MAIL FROM:<>", "250"), ("RCPT TO:<\(to)>", "250"),
                                  ("DATA", "354")] {
            s.write(command + "\r\n")
            guard let r = reply(), r.hasPrefix(expect) else { return reply() ?? "no reply to \(command)" }
        }
        s.write(body + ".\r\n")
        let final = reply()
        s.write("QUIT\r\n")
        _ = reply()
        return final
    }
}

/// Line-oriented blocking I/O on a connected socket (CRLF or LF line ends).
final class LineSocket {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// The next line without its line end; nil at end of stream or error.
    func readLine() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 16_384)
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer += chunk[..<n]
            if buffer.count > 50 << 20 { return nil }
        }
    }

    func write(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            bytes = bytes.dropFirst(n)
        }
    }
}
