import Foundation
import NetworkIO
import Synchronization

/// A scriptable SMTP receiver for delivery tests, on 127.0.0.1 port 0 over a NetworkIO loop:
/// answers any command with any reply (421/450/451/452/550/552/554 at any stage), drops the
/// connection, stalls (never answers), offers or breaks STARTTLS, serves implicit TLS, checks
/// AUTH, and records every command and received message.
final class FakeSMTPServer: @unchecked Sendable {
    // Safe: sessions run on `loop`; shared records are behind `records` (a Mutex).

    /// What to do instead of the normal reply.
    enum Reply: Sendable {
        /// Send this reply text (one or more lines, without the final CRLF).
        case line(String)
        /// Close the connection without replying.
        case drop
        /// Never reply (and ignore further input).
        case stall
    }

    /// One step of a session, for scripting.
    struct Step: Sendable {
        /// `CONNECT`, `EHLO`, `HELO`, `STARTTLS`, `AUTH`, `MAIL`, `RCPT`, `DATA`, `BODY` (end of
        /// data), `BDAT`, `RSET`, `QUIT`.
        var verb: String
        /// The command argument (e.g. `TO:<a@b>`).
        var argument: String
        /// 1-based connection number.
        var connection: Int
        /// Messages fully received on this server before this step.
        var messagesSoFar: Int
        /// The client's IP address.
        var clientIP: String
    }

    /// Behaviour settings.
    struct Behavior: Sendable {
        var extensions = ["PIPELINING", "8BITMIME", "SIZE 10000000", "ENHANCEDSTATUSCODES"]
        /// Server TLS context: offers STARTTLS (or implicit TLS) when set.
        var tls: TLSContext?
        var implicitTLS = false
        /// After `220 ready` for STARTTLS, send garbage and close instead of a handshake.
        var breakTLS = false
        /// Credentials to require (AUTH PLAIN/LOGIN offered after TLS, or always when no TLS).
        var auth: (user: String, password: String)?
        /// Override replies: return nil for the normal behaviour.
        var script: @Sendable (Step) -> Reply? = { _ in nil }
    }

    /// A message as received.
    struct Received: Sendable {
        var mailFrom: String
        var recipients: [String]
        var data: [UInt8]
        var connection: Int
        var overTLS: Bool
    }

    struct Records {
        var connections = 0
        var commands: [String] = []
        var messages: [Received] = []
        var authenticated: [String] = []
        /// Client IP of each connection, in order.
        var clientIPs: [String] = []
    }

    let loop: EventLoop
    let port: UInt16
    let behavior: Behavior
    let records = Mutex(Records())
    private var listener: Listener?
    private var sessions: [ObjectIdentifier: FakeSMTPSession] = [:]

    /// Starts listening on `ip`:`port` (0 = any free port). Blocks until listening.
    init(behavior: Behavior = Behavior(), ip: String = "127.0.0.1", port: UInt16 = 0) throws {
        signal(SIGPIPE, SIG_IGN)
        self.behavior = behavior
        loop = try EventLoop(name: "fake-smtp")
        loop.start()
        let address = try SocketAddress(ip: ip, port: port)
        nonisolated(unsafe) var made: Listener?
        nonisolated(unsafe) var failure: Error?
        let ready = DispatchSemaphore(value: 0)
        let loopRef = loop
        nonisolated(unsafe) var server: FakeSMTPServer?
        let accept: (Int32, SocketAddress) -> Void = { fd, remote in
            guard let server else { close(fd); return }
            server.accepted(fd: fd, remote: remote)
        }
        nonisolated(unsafe) let acceptRef = accept
        loop.execute {
            do {
                let l = try Listener(address: address, loop: loopRef, onAccept: acceptRef)
                try l.start()
                made = l
            } catch {
                failure = error
            }
            ready.signal()
        }
        ready.wait()
        if let failure { throw failure }
        let l = made!
        listener = l
        self.port = l.address.port
        server = self
    }

    /// Stops listening and closes the loop. Blocks.
    func stop() {
        let done = DispatchSemaphore(value: 0)
        loop.execute { [self] in
            listener?.close()
            for session in sessions.values { session.connection?.abort() }
            sessions.removeAll()
            done.signal()
        }
        done.wait()
        loop.stop()
    }

    var messages: [Received] { records.withLock { $0.messages } }
    var connectionCount: Int { records.withLock { $0.connections } }
    var commands: [String] { records.withLock { $0.commands } }

    private func accepted(fd: Int32, remote: SocketAddress) {
        let number = records.withLock { r -> Int in
            r.clientIPs.append(remote.ip)
            r.connections += 1
            return r.connections
        }
        let session = FakeSMTPSession(server: self, number: number, clientIP: remote.ip)
        do {
            let connection = try Connection.accepted(fd: fd, remote: remote, loop: loop, delegate: session)
            session.connection = connection
            sessions[ObjectIdentifier(session)] = session
            session.start()
        } catch {
            close(fd)
        }
    }

    fileprivate func ended(_ session: FakeSMTPSession) {
        sessions[ObjectIdentifier(session)] = nil
    }
}

/// One server-side session of `FakeSMTPServer`; loop-confined.
final class FakeSMTPSession: ConnectionDelegate {
    unowned let server: FakeSMTPServer
    let number: Int
    let clientIP: String
    var connection: Connection?
    private var buffer: [UInt8] = []
    private var inData = false
    private var bdatRemaining = 0
    private var bdatLast = false
    private var stalled = false
    private var tls = false
    private var mailFrom = ""
    private var recipients: [String] = []
    private var data: [UInt8] = []
    private var authLoginStep = 0
    private var authUser = ""

    init(server: FakeSMTPServer, number: Int, clientIP: String) {
        self.server = server
        self.number = number
        self.clientIP = clientIP
    }

    func start() {
        if server.behavior.implicitTLS, let context = server.behavior.tls {
            connection?.startTLS(context: context)
        } else {
            greet()
        }
    }

    private func greet() {
        respond("CONNECT", "", normal: "220 fake.test ESMTP ready")
    }

    func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {
        tls = true
        if server.behavior.implicitTLS { greet() }
    }

    func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
        guard !stalled else { return }
        buffer.append(contentsOf: bytes)
        process()
    }

    func connectionDidClose(_ connection: Connection, error: NetworkError?) {
        self.connection = nil
        server.ended(self)
    }

    private func step(_ verb: String, _ argument: String) -> FakeSMTPServer.Step {
        FakeSMTPServer.Step(verb: verb, argument: argument, connection: number,
                            messagesSoFar: server.records.withLock { $0.messages.count }, clientIP: clientIP)
    }

    /// Sends the scripted reply for `verb` or `normal`; false when the session stopped (drop/stall).
    @discardableResult
    private func respond(_ verb: String, _ argument: String, normal: String) -> Bool {
        let reply = server.behavior.script(step(verb, argument)) ?? .line(normal)
        send(reply)
        if case .line(let text) = reply { return !text.hasPrefix("421") }
        return false
    }

    private func process() {
        while !stalled, connection != nil {
            if bdatRemaining > 0 {
                let take = min(bdatRemaining, buffer.count)
                guard take > 0 else { return }
                data.append(contentsOf: buffer[0..<take])
                buffer.removeFirst(take)
                bdatRemaining -= take
                if bdatRemaining == 0 { finishChunk() }
                continue
            }
            if inData {
                guard let end = dataEnd() else { return }
                var body = Array(buffer[0..<end.bodyEnd])
                buffer.removeFirst(end.consumed)
                inData = false
                body = unstuff(body)
                data = body
                finishMessage()
                continue
            }
            guard let lineEnd = findCRLF() else { return }
            let line = String(decoding: buffer[0..<lineEnd], as: UTF8.self)
            buffer.removeFirst(lineEnd + 2)
            command(line)
        }
    }

    private func findCRLF() -> Int? {
        guard buffer.count >= 2 else { return nil }
        for i in 0..<(buffer.count - 1) where buffer[i] == 13 && buffer[i + 1] == 10 { return i }
        return nil
    }

    /// Finds the end-of-data line: returns where the body ends and how many bytes to consume.
    private func dataEnd() -> (bodyEnd: Int, consumed: Int)? {
        if buffer.count >= 3, buffer[0] == 46, buffer[1] == 13, buffer[2] == 10 { return (0, 3) }
        guard buffer.count >= 5 else { return nil }
        for i in 0...(buffer.count - 5)
        where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 46 && buffer[i + 3] == 13 && buffer[i + 4] == 10 {
            return (i + 2, i + 5)
        }
        return nil
    }

    private func unstuff(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var atLineStart = true
        for byte in body {
            if atLineStart, byte == 46 { atLineStart = false; continue }
            out.append(byte)
            atLineStart = byte == 10
        }
        return out
    }

    private func command(_ line: String) {
        server.records.withLock { $0.commands.append(line) }
        if authLoginStep > 0 {
            authLogin(line)
            return
        }
        let parts = line.split(separator: " ", maxSplits: 1)
        let verb = parts.first.map { $0.uppercased() } ?? ""
        let argument = parts.count > 1 ? String(parts[1]) : ""
        switch verb {
        case "EHLO":
            var lines = ["fake.test"] + server.behavior.extensions
            if server.behavior.tls != nil, !tls, !server.behavior.implicitTLS { lines.append("STARTTLS") }
            if server.behavior.auth != nil { lines.append("AUTH PLAIN LOGIN") }
            var text = ""
            for (i, l) in lines.enumerated() { text += (i == lines.count - 1 ? "250 " : "250-") + l + (i == lines.count - 1 ? "" : "\r\n") }
            respond("EHLO", argument, normal: text)
        case "HELO":
            respond("HELO", argument, normal: "250 fake.test")
        case "STARTTLS":
            guard let context = server.behavior.tls else { respond("STARTTLS", argument, normal: "502 5.5.1 no"); return }
            let reply = server.behavior.script(step("STARTTLS", argument)) ?? .line("220 2.0.0 Ready to start TLS")
            send(reply)
            guard case .line(let text) = reply, text.hasPrefix("220") else { return }
            buffer.removeAll()
            if server.behavior.breakTLS {
                connection?.write(Array("this is not a TLS server hello\r\n".utf8))
                connection?.close()
            } else {
                connection?.startTLS(context: context)
            }
        case "AUTH":
            let fields = argument.split(separator: " ")
            if fields.first?.uppercased() == "PLAIN", fields.count > 1,
               let decoded = Data(base64Encoded: String(fields[1])) {
                let items = decoded.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
                checkAuth(user: items.count > 1 ? items[1] : "", password: items.count > 2 ? items[2] : "")
            } else if fields.first?.uppercased() == "LOGIN" {
                authLoginStep = 1
                connection?.write(Array("334 VXNlcm5hbWU6\r\n".utf8))
            } else {
                respond("AUTH", argument, normal: "504 5.5.4 unsupported")
            }
        case "MAIL":
            mailFrom = extractPath(argument)
            recipients = []
            data = []
            respond("MAIL", argument, normal: "250 2.1.0 OK")
        case "RCPT":
            let address = extractPath(argument)
            let reply = server.behavior.script(step("RCPT", argument)) ?? .line("250 2.1.5 OK")
            if case .line(let text) = reply, text.hasPrefix("2") { recipients.append(address) }
            send(reply)
        case "DATA":
            if recipients.isEmpty {
                respond("DATA", argument, normal: "554 5.5.1 no valid recipients")
                return
            }
            let reply = server.behavior.script(step("DATA", argument)) ?? .line("354 go ahead")
            send(reply)
            if case .line(let text) = reply, text.hasPrefix("354") { inData = true }
        case "BDAT":
            let fields = argument.split(separator: " ")
            bdatRemaining = Int(fields.first ?? "0") ?? 0
            bdatLast = fields.count > 1 && fields[1].uppercased() == "LAST"
            if bdatRemaining == 0 { finishChunk() }
        case "RSET":
            mailFrom = ""
            recipients = []
            data = []
            respond("RSET", argument, normal: "250 2.0.0 OK")
        case "NOOP":
            respond("NOOP", argument, normal: "250 2.0.0 OK")
        case "QUIT":
            respond("QUIT", argument, normal: "221 2.0.0 bye")
            connection?.close()
        default:
            respond(verb, argument, normal: "500 5.5.2 unknown command")
        }
    }

    private func send(_ reply: FakeSMTPServer.Reply) {
        switch reply {
        case .line(let text):
            connection?.write(Array((text + "\r\n").utf8))
            if text.hasPrefix("421") { connection?.close() }
        case .drop:
            connection?.abort()
        case .stall:
            stalled = true
        }
    }

    private func finishChunk() {
        if bdatLast {
            finishMessage()
        } else {
            respond("BDAT", "", normal: "250 2.0.0 chunk OK")
        }
    }

    private func finishMessage() {
        let reply = server.behavior.script(step("BODY", "")) ?? .line("250 2.0.0 OK queued")
        if case .line(let text) = reply, text.hasPrefix("2") {
            let received = FakeSMTPServer.Received(mailFrom: mailFrom, recipients: recipients, data: data,
                                                  connection: number, overTLS: tls)
            server.records.withLock { $0.messages.append(received) }
        }
        recipients = []
        data = []
        send(reply)
    }

    private func authLogin(_ line: String) {
        let decoded = Data(base64Encoded: line).map { String(decoding: $0, as: UTF8.self) } ?? ""
        if authLoginStep == 1 {
            authUser = decoded
            authLoginStep = 2
            connection?.write(Array("334 UGFzc3dvcmQ6\r\n".utf8))
        } else {
            authLoginStep = 0
            checkAuth(user: authUser, password: decoded)
        }
    }

    private func checkAuth(user: String, password: String) {
        if let expected = server.behavior.auth, expected.user == user, expected.password == password {
            server.records.withLock { $0.authenticated.append(user) }
            respond("AUTH", user, normal: "235 2.7.0 Authentication successful")
        } else {
            respond("AUTH", user, normal: "535 5.7.8 Authentication credentials invalid")
        }
    }

    private func extractPath(_ argument: String) -> String {
        guard let open = argument.firstIndex(of: "<"), let close = argument[open...].firstIndex(of: ">") else { return "" }
        return String(argument[argument.index(after: open)..<close])
    }
}
