/// A pure client-side SMTP state machine for outbound delivery (RFC 5321 with PIPELINING,
/// SIZE, 8BITMIME, SMTPUTF8, CHUNKING, STARTTLS, AUTH PLAIN/LOGIN and DSN). The shell owns the
/// socket and TLS: it feeds received bytes to `receive`, performs the returned `Action`s in order,
/// and reports TLS handshakes, timeouts and closed connections.
///
/// Flow: greeting → EHLO (HELO fallback) → STARTTLS per `TLSPolicy` → EHLO again → AUTH when
/// credentials are configured → `ready`. Transactions submitted with `submit` run one after the
/// other on the connection (RSET is sent first when the previous one was aborted), each producing
/// `finished` with one result per recipient: a rejected RCPT fails only that recipient. Refusals
/// the client can decide alone (SIZE too large, SMTPUTF8 unsupported, 8-bit content the server
/// cannot take and that cannot be converted) are reported as local replies without sending
/// anything. Bodies are dot-stuffed for DATA (sent with the terminating dot in the same write) or
/// sent raw with BDAT; bare CR/LF are normalised to CRLF.
///
/// Pure value, no I/O, no clocks. Not thread-safe: one owner per connection.
public struct SMTPClientSession: Sendable {
    /// Settings in force.
    public let configuration: Configuration
    /// What the server advertised in its last EHLO reply (empty after HELO).
    public private(set) var capabilities = Capabilities()
    /// True once TLS is active (after STARTTLS, or from the start with implicit TLS).
    public private(set) var isTLSActive: Bool
    /// True once AUTH succeeded.
    public private(set) var isAuthenticated = false

    private enum Phase: Sendable, Equatable {
        case greeting, hello, startTLS, handshake, auth, idle, transaction, quitting, closed
    }

    private enum Expect: Sendable, Equatable {
        case greeting, ehlo, helo, startTLS, authPlain, authLogin(step: Int)
        case rset, mail, rcpt(Int), data, body, dataAbort, bdat(last: Bool), quit
    }

    /// FIFO of awaited replies with O(1) removal from the front (pipelines can be long).
    private struct ExpectQueue: Sendable {
        private var items: [Expect] = []
        private var head = 0

        init(_ initial: [Expect]) { items = initial }

        var isEmpty: Bool { head == items.count }
        var first: Expect? { isEmpty ? nil : items[head] }

        mutating func append(_ expect: Expect) { items.append(expect) }

        mutating func removeFirst() -> Expect {
            let expect = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
            return expect
        }

        mutating func removeAll() {
            items.removeAll(keepingCapacity: true)
            head = 0
        }

        func contains(where predicate: (Expect) -> Bool) -> Bool {
            items[head...].contains(where: predicate)
        }
    }

    private struct Active: Sendable {
        var transaction: Transaction
        var replies: [SMTPReply?]
        var isLocal: [Bool]
        /// The stage whose reply decided each recipient (nil while none has).
        var stages: [Stage?]
        var accepted: [Bool]
        var mailFailure: SMTPReply?
        var payload: [UInt8]
        var useBDAT: Bool
        var converted: Bool
        var bodyTransmitted = false
        var bodyFailure: SMTPReply?
        var pendingChunks: [[UInt8]] = []
        var dataPipelined = false
    }

    private var parser = SMTPReplyParser()
    private var phase: Phase = .greeting
    private var expected = ExpectQueue([.greeting])
    private var outgoing: [(bytes: [UInt8], expect: Expect)] = []
    private var queue: [Transaction] = []
    private var active: Active?
    private var needsReset = false
    private var transactionsStarted = 0
    private var quitRequested = false
    private var startTLSRefused = false
    private var pipelining: Bool { capabilities.pipelining && configuration.usePipelining }

    /// Creates a session for a freshly connected socket; it waits for the greeting. Pure.
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.isTLSActive = configuration.implicitTLS
    }

    /// True when the session is idle, authenticated and has nothing queued. Pure; any caller.
    public var isIdle: Bool { phase == .idle && queue.isEmpty }

    /// True once the session has ended (failure, QUIT, or closed connection). Pure; any caller.
    public var isClosed: Bool { phase == .closed }

    /// Seconds the shell should wait for the reply now awaited (RFC 5321 4.5.3.2 minimums),
    /// or nil when no reply is awaited. Pure; any caller.
    public var replyTimeout: Double? {
        guard let next = expected.first else { return nil }
        switch next {
        case .greeting, .ehlo, .helo, .mail, .rcpt, .rset, .startTLS, .authPlain, .authLogin: return 300
        case .data: return 120
        case .body, .dataAbort, .bdat: return 600
        case .quit: return 60
        }
    }

    // MARK: Inputs

    /// Feeds bytes received from the server; returns what to do. Pure; the connection owner calls it.
    public mutating func receive(_ bytes: ArraySlice<UInt8>) -> [Action] {
        guard phase != .closed, phase != .handshake else { return [] }
        parser.feed(bytes)
        var actions: [Action] = []
        while phase != .closed, phase != .handshake {
            let reply: SMTPReply?
            do {
                reply = try parser.nextReply()
            } catch {
                fail(SMTPReply(451, EnhancedStatusCode(4, 5, 0), "protocol error: \(error.reason)"),
                     isLocal: true, sendQuit: false, into: &actions)
                break
            }
            guard let reply else { break }
            handle(reply, into: &actions)
        }
        return actions
    }

    /// Feeds bytes received from the server. Pure; the connection owner calls it.
    public mutating func receive(_ bytes: [UInt8]) -> [Action] {
        receive(bytes[...])
    }

    /// Queues a transaction; it starts at once when the session is idle. On a closed session the
    /// transaction finishes immediately with a local 451 4.4.2. Pure; the owner calls it.
    public mutating func submit(_ transaction: Transaction) -> [Action] {
        var actions: [Action] = []
        guard phase != .closed, !quitRequested, phase != .quitting else {
            let reply = SMTPReply(451, EnhancedStatusCode(4, 4, 2), "SMTP session already closed")
            actions.append(.finished(TransactionResult(tag: transaction.tag, recipients: transaction.recipients.map {
                RecipientResult(address: $0.address, reply: reply, isLocal: true)
            })))
            return actions
        }
        queue.append(transaction)
        if phase == .idle { advance(into: &actions) }
        return actions
    }

    /// Reports that the TLS handshake requested by `startTLS` succeeded (and, for `verify`, the
    /// certificate verified); EHLO is sent again. Pure; the owner calls it.
    public mutating func tlsEstablished() -> [Action] {
        guard phase == .handshake else { return [] }
        isTLSActive = true
        capabilities = Capabilities()
        phase = .hello
        return [command("EHLO " + configuration.heloName, expecting: .ehlo)]
    }

    /// Reports that the TLS handshake (or certificate verification) failed. The session fails
    /// with a local 454 4.7.5; with the opportunistic policy `retryWithoutTLS` is set so the shell
    /// can reconnect without STARTTLS. Pure; the owner calls it.
    public mutating func tlsFailed(verification: Bool = false) -> [Action] {
        guard phase == .handshake else { return [] }
        var actions: [Action] = []
        let failure: BounceClassifier.LocalFailure = verification ? .tlsVerificationFailed : .tlsHandshakeFailed
        fail(BounceClassifier.syntheticReply(for: failure), isLocal: true, stage: .startTLS,
             retryWithoutTLS: configuration.tlsPolicy == .opportunistic, sendQuit: false, into: &actions)
        return actions
    }

    /// Ends the session politely: QUIT now when idle, otherwise after the queued transactions.
    /// Pure; the owner calls it.
    public mutating func quit() -> [Action] {
        switch phase {
        case .closed, .quitting:
            return []
        case .idle:
            var actions: [Action] = []
            sendQuit(into: &actions)
            return actions
        default:
            quitRequested = true
            return []
        }
    }

    /// Reports that the connection closed. Unfinished work fails with a local 451 4.4.2 (nothing
    /// is reported after QUIT). Pure; the owner calls it.
    public mutating func connectionClosed() -> [Action] {
        guard phase != .closed else { return [] }
        if phase == .quitting {
            phase = .closed
            return []
        }
        var actions: [Action] = []
        let stage = currentStage
        fail(SMTPReply(451, EnhancedStatusCode(4, 4, 2), "lost connection with the server during \(stage.rawValue)"),
             isLocal: true, stage: stage, sendQuit: false, into: &actions)
        return actions.filter { $0 != .close }
    }

    /// Reports that the awaited reply did not arrive within `replyTimeout`. Unfinished work fails
    /// with a local 451 4.4.2 and the connection is closed. Pure; the owner calls it.
    public mutating func timedOut() -> [Action] {
        guard phase != .closed else { return [] }
        var actions: [Action] = []
        if phase == .quitting {
            phase = .closed
            return [.close]
        }
        let stage = currentStage
        fail(SMTPReply(451, EnhancedStatusCode(4, 4, 2), "timed out waiting for the server during \(stage.rawValue)"),
             isLocal: true, stage: stage, sendQuit: false, into: &actions)
        return actions
    }

    // MARK: Replies

    private mutating func handle(_ reply: SMTPReply, into actions: inout [Action]) {
        guard !expected.isEmpty else {
            fail(reply.code == 421 ? reply : SMTPReply(451, EnhancedStatusCode(4, 5, 0), "unexpected reply from server: \(reply)"),
                 isLocal: reply.code != 421, sendQuit: false, into: &actions)
            return
        }
        let expect = expected.removeFirst()
        if reply.code == 421, expect != .quit {
            // The server is closing the channel.
            fail(reply, isLocal: false, stage: stage(of: expect), sendQuit: false, into: &actions)
            return
        }
        switch expect {
        case .greeting:
            guard reply.isPositive else {
                fail(reply, isLocal: false, stage: .greeting, sendQuit: true, into: &actions)
                return
            }
            phase = .hello
            actions.append(command("EHLO " + configuration.heloName, expecting: .ehlo))
        case .ehlo:
            if reply.isPositive {
                capabilities = Capabilities(ehlo: reply)
                afterHello(into: &actions)
            } else if reply.isPermanent {
                actions.append(command("HELO " + configuration.heloName, expecting: .helo))
            } else {
                fail(reply, isLocal: false, stage: .hello, sendQuit: true, into: &actions)
            }
        case .helo:
            guard reply.isPositive else {
                fail(reply, isLocal: false, stage: .hello, sendQuit: true, into: &actions)
                return
            }
            capabilities = Capabilities()
            afterHello(into: &actions)
        case .startTLS:
            if reply.isPositive {
                // Anything the server sent after its 220 arrived before encryption: drop it.
                parser.discardBuffered()
                phase = .handshake
                actions.append(.startTLS(verifyCertificate: configuration.tlsPolicy == .verify))
            } else if configuration.tlsPolicy == .opportunistic {
                startTLSRefused = true
                afterHello(into: &actions)
            } else {
                fail(reply, isLocal: false, stage: .startTLS, sendQuit: true, into: &actions)
            }
        case .authPlain:
            authenticated(reply, into: &actions)
        case .authLogin(let step):
            if step < 2, reply.code == 334, let credentials = configuration.credentials {
                let secret = step == 0 ? credentials.username : credentials.password
                var line = Base64.encode(Array(secret.utf8))
                line.append(contentsOf: [13, 10])
                expected.append(.authLogin(step: step + 1))
                actions.append(.send(line))
            } else {
                authenticated(reply, into: &actions)
            }
        case .rset:
            guard reply.isPositive else {
                fail(reply, isLocal: false, stage: .reset, sendQuit: true, into: &actions)
                return
            }
            sendNextOutgoing(into: &actions)
        case .mail:
            if !reply.isPositive {
                active?.mailFailure = reply
                outgoing.removeAll()
            }
            envelopeStep(into: &actions)
        case .rcpt(let index):
            active?.replies[index] = reply
            active?.stages[index] = .recipient
            active?.accepted[index] = reply.isPositive
            envelopeStep(into: &actions)
        case .data:
            dataReply(reply, into: &actions)
        case .body:
            if var current = active {
                for index in current.accepted.indices where current.accepted[index] {
                    current.replies[index] = reply
                    current.stages[index] = .body
                }
                active = current
            }
            needsReset = false
            finishActive(into: &actions)
        case .dataAbort:
            needsReset = true
            finishActive(into: &actions)
        case .bdat(let last):
            bdatReply(reply, last: last, into: &actions)
        case .quit:
            phase = .closed
            expected.removeAll()
            actions.append(.close)
        }
    }

    private mutating func afterHello(into actions: inout [Action]) {
        if !isTLSActive, configuration.tlsPolicy != .none {
            if capabilities.startTLS, !startTLSRefused {
                phase = .startTLS
                actions.append(command("STARTTLS", expecting: .startTLS))
                return
            }
            if configuration.tlsPolicy == .required || configuration.tlsPolicy == .verify {
                fail(BounceClassifier.syntheticReply(for: .tlsNotOffered), isLocal: true, stage: .startTLS,
                     sendQuit: true, into: &actions)
                return
            }
        }
        if let credentials = configuration.credentials, !isAuthenticated {
            guard isTLSActive || configuration.allowPlaintextAuth else {
                fail(SMTPReply(454, EnhancedStatusCode(4, 7, 11), "refusing to send credentials without TLS"),
                     isLocal: true, stage: .auth, sendQuit: true, into: &actions)
                return
            }
            phase = .auth
            if capabilities.authMechanisms.contains("PLAIN") {
                var token: [UInt8] = [0]
                token.append(contentsOf: credentials.username.utf8)
                token.append(0)
                token.append(contentsOf: credentials.password.utf8)
                var line = Array("AUTH PLAIN ".utf8)
                line.append(contentsOf: Base64.encode(token))
                line.append(contentsOf: [13, 10])
                expected.append(.authPlain)
                actions.append(.send(line))
            } else if capabilities.authMechanisms.contains("LOGIN") {
                actions.append(command("AUTH LOGIN", expecting: .authLogin(step: 0)))
            } else {
                fail(SMTPReply(454, EnhancedStatusCode(4, 7, 0), "server offers no supported AUTH mechanism (PLAIN, LOGIN)"),
                     isLocal: true, stage: .auth, sendQuit: true, into: &actions)
            }
            return
        }
        phase = .idle
        advance(into: &actions)
    }

    private mutating func authenticated(_ reply: SMTPReply, into actions: inout [Action]) {
        guard reply.code == 235 else {
            fail(reply, isLocal: false, stage: .auth, sendQuit: true, into: &actions)
            return
        }
        isAuthenticated = true
        phase = .idle
        advance(into: &actions)
    }

    // MARK: Transactions

    private mutating func advance(into actions: inout [Action]) {
        while phase == .idle {
            guard !queue.isEmpty else {
                if quitRequested {
                    sendQuit(into: &actions)
                } else {
                    actions.append(.ready(capabilities))
                }
                return
            }
            start(queue.removeFirst(), into: &actions)
        }
    }

    private mutating func start(_ transaction: Transaction, into actions: inout [Action]) {
        func refuse(_ reply: SMTPReply) {
            // Refused before MAIL FROM for the message or its sender: never about one recipient.
            actions.append(.finished(TransactionResult(tag: transaction.tag, recipients: transaction.recipients.map {
                RecipientResult(address: $0.address, reply: reply, isLocal: true, stage: .mail)
            })))
        }
        if transaction.requiresSMTPUTF8, !capabilities.smtpUTF8 {
            return refuse(SMTPReply(553, EnhancedStatusCode(5, 6, 7), "SMTPUTF8 is required but not supported by the server"))
        }
        guard SMTPClientSession.isValidPath(transaction.mailFrom) else {
            return refuse(SMTPReply(553, EnhancedStatusCode(5, 1, 7), "invalid sender address syntax"))
        }
        var converted = false
        let useBDAT = capabilities.chunking && configuration.useChunking
        // One pass encodes the body and tells whether it has 8-bit bytes (8-bit is rare: only then
        // is the message converted and encoded again).
        let encoded = SMTPBody.encode(transaction.message, dotStuff: !useBDAT)
        var payload = encoded.bytes
        let eightBit = encoded.eightBit
        if eightBit, !capabilities.eightBitMIME {
            guard configuration.convertEightBit else {
                return refuse(SMTPReply(554, EnhancedStatusCode(5, 6, 3), "8-bit message and the server does not support 8BITMIME"))
            }
            guard let downgraded = MIMEDowngrade.convert(transaction.message) else {
                return refuse(SMTPReply(554, EnhancedStatusCode(5, 6, 3), "8-bit message cannot be converted to 7-bit for a server without 8BITMIME"))
            }
            payload = SMTPBody.encode(downgraded, dotStuff: !useBDAT).bytes
            converted = true
        }
        let size = useBDAT ? payload.count : payload.count - 3
        if let limit = capabilities.size, limit > 0, size > limit {
            return refuse(SMTPReply(552, EnhancedStatusCode(5, 3, 4), "message size \(size) exceeds the server's limit of \(limit) bytes"))
        }

        var current = Active(transaction: transaction, replies: Array(repeating: nil, count: transaction.recipients.count),
                             isLocal: Array(repeating: false, count: transaction.recipients.count),
                             stages: Array(repeating: nil, count: transaction.recipients.count),
                             accepted: Array(repeating: false, count: transaction.recipients.count),
                             payload: payload, useBDAT: useBDAT, converted: converted)
        var commands: [(bytes: [UInt8], expect: Expect)] = []
        commands.append((mailCommand(transaction, size: size, eightBit: eightBit && !converted), .mail))
        for (index, recipient) in transaction.recipients.enumerated() {
            if SMTPClientSession.isValidPath(recipient.address), !recipient.address.isEmpty {
                commands.append((rcptCommand(recipient), .rcpt(index)))
            } else {
                current.replies[index] = SMTPReply(553, EnhancedStatusCode(5, 1, 3), "invalid recipient address syntax")
                current.isLocal[index] = true
                current.stages[index] = .recipient
            }
        }
        guard commands.contains(where: { if case .rcpt = $0.expect { return true } else { return false } }) else {
            // Nothing to send: every recipient was refused locally.
            active = current
            phase = .transaction
            finishActive(into: &actions)
            return
        }
        phase = .transaction
        if needsReset || (configuration.resetBetweenTransactions && transactionsStarted > 0) {
            commands.insert((line("RSET"), .rset), at: 0)
            needsReset = false
        }
        transactionsStarted += 1
        if pipelining {
            if !useBDAT {
                commands.append((line("DATA"), .data))
                current.dataPipelined = true
            }
            var batch: [UInt8] = []
            batch.reserveCapacity(commands.reduce(0) { $0 + $1.bytes.count })
            for item in commands {
                batch.append(contentsOf: item.bytes)
                expected.append(item.expect)
            }
            active = current
            actions.append(.send(batch))
        } else {
            active = current
            outgoing = commands
            sendNextOutgoing(into: &actions)
        }
    }

    /// Called after a MAIL or RCPT reply: sends the next unpipelined command, or when the envelope
    /// is complete, moves on to the body.
    private mutating func envelopeStep(into actions: inout [Action]) {
        guard let current = active else { return }
        if !outgoing.isEmpty {
            sendNextOutgoing(into: &actions)
            return
        }
        let envelopePending = expected.contains { expect in
            switch expect {
            case .mail, .rcpt: return true
            default: return false
            }
        }
        guard !envelopePending else { return }
        if current.dataPipelined { return } // the DATA reply decides
        let anyAccepted = current.mailFailure == nil && current.accepted.contains(true)
        guard anyAccepted else {
            needsReset = true
            finishActive(into: &actions)
            return
        }
        if current.useBDAT {
            sendChunks(into: &actions)
        } else {
            actions.append(command("DATA", expecting: .data))
        }
    }

    private mutating func dataReply(_ reply: SMTPReply, into actions: inout [Action]) {
        guard var current = active else { return }
        if reply.code == 354 {
            if current.mailFailure == nil, current.accepted.contains(true) {
                current.bodyTransmitted = true
                expected.append(.body)
                actions.append(.commitPoint(tag: current.transaction.tag))
                actions.append(.send(current.payload))
                current.payload = []
            } else {
                // RFC 2920: DATA was accepted although no recipient was; end with an empty message.
                expected.append(.dataAbort)
                actions.append(.send(line(".")))
            }
            active = current
            return
        }
        for index in current.accepted.indices where current.accepted[index] {
            current.replies[index] = reply
            current.stages[index] = .data
        }
        active = current
        needsReset = true
        finishActive(into: &actions)
    }

    private mutating func sendChunks(into actions: inout [Action]) {
        guard var current = active else { return }
        let payload = current.payload
        current.payload = []
        var chunks: [[UInt8]] = []
        var offset = 0
        repeat {
            let end = min(offset + configuration.chunkSize, payload.count)
            let isLast = end == payload.count
            var chunk = Array("BDAT \(end - offset)\(isLast ? " LAST" : "")\r\n".utf8)
            chunk.append(contentsOf: payload[offset..<end])
            chunks.append(chunk)
            offset = end
        } while offset < payload.count
        current.bodyTransmitted = true
        actions.append(.commitPoint(tag: current.transaction.tag))
        if pipelining {
            var batch: [UInt8] = []
            batch.reserveCapacity(payload.count + chunks.count * 24)
            for (index, chunk) in chunks.enumerated() {
                batch.append(contentsOf: chunk)
                expected.append(.bdat(last: index == chunks.count - 1))
            }
            active = current
            actions.append(.send(batch))
        } else {
            let first = chunks.removeFirst()
            expected.append(.bdat(last: chunks.isEmpty))
            current.pendingChunks = chunks
            active = current
            actions.append(.send(first))
        }
    }

    private mutating func bdatReply(_ reply: SMTPReply, last: Bool, into actions: inout [Action]) {
        guard var current = active else { return }
        if !reply.isPositive, current.bodyFailure == nil {
            current.bodyFailure = reply
            current.pendingChunks.removeAll()
        }
        if !last, current.bodyFailure == nil, !current.pendingChunks.isEmpty {
            let next = current.pendingChunks.removeFirst()
            expected.append(.bdat(last: current.pendingChunks.isEmpty))
            active = current
            actions.append(.send(next))
            return
        }
        let stillPending = expected.contains { if case .bdat = $0 { return true } else { return false } }
        active = current
        guard !stillPending else { return }
        let final = current.bodyFailure ?? reply
        for index in current.accepted.indices where current.accepted[index] {
            current.replies[index] = final
            current.stages[index] = .body
        }
        active = current
        needsReset = current.bodyFailure != nil || !final.isPositive
        finishActive(into: &actions)
    }

    private mutating func finishActive(into actions: inout [Action]) {
        guard let current = active else { return }
        active = nil
        outgoing.removeAll()
        var results: [RecipientResult] = []
        results.reserveCapacity(current.transaction.recipients.count)
        for (index, recipient) in current.transaction.recipients.enumerated() {
            if current.isLocal[index], let reply = current.replies[index] {
                results.append(RecipientResult(address: recipient.address, reply: reply, isLocal: true, stage: current.stages[index]))
            } else if let failure = current.mailFailure {
                results.append(RecipientResult(address: recipient.address, reply: failure, isLocal: false, stage: .mail))
            } else if let reply = current.replies[index] {
                results.append(RecipientResult(address: recipient.address, reply: reply, isLocal: false, stage: current.stages[index]))
            } else {
                results.append(RecipientResult(address: recipient.address,
                                               reply: SMTPReply(451, EnhancedStatusCode(4, 3, 0), "no reply for this recipient"),
                                               isLocal: true))
            }
        }
        let accepted = current.mailFailure == nil ? current.accepted.lazy.filter { $0 }.count : 0
        actions.append(.finished(TransactionResult(tag: current.transaction.tag, recipients: results,
                                                   convertedTo7Bit: current.converted, bodyTransmitted: current.bodyTransmitted,
                                                   acceptedRecipients: accepted)))
        if phase == .transaction {
            phase = .idle
            advance(into: &actions)
        }
    }

    // MARK: Failure and commands

    private var currentStage: Stage {
        if let next = expected.first { return stage(of: next) }
        switch phase {
        case .greeting: return .greeting
        case .hello: return .hello
        case .startTLS, .handshake: return .startTLS
        case .auth: return .auth
        case .transaction: return .body
        case .quitting: return .quit
        case .idle, .closed: return .idle
        }
    }

    private func stage(of expect: Expect) -> Stage {
        switch expect {
        case .greeting: return .greeting
        case .ehlo, .helo: return .hello
        case .startTLS: return .startTLS
        case .authPlain, .authLogin: return .auth
        case .rset: return .reset
        case .mail: return .mail
        case .rcpt: return .recipient
        case .data: return .data
        case .body, .dataAbort, .bdat: return .body
        case .quit: return .quit
        }
    }

    private mutating func fail(_ reply: SMTPReply, isLocal: Bool, stage: Stage? = nil, retryWithoutTLS: Bool = false,
                               sendQuit: Bool, into actions: inout [Action]) {
        let stage = stage ?? currentStage
        if var current = active {
            for index in current.replies.indices where !current.isLocal[index] {
                if current.mailFailure == nil, current.replies[index] == nil || current.accepted[index] {
                    current.replies[index] = reply
                    current.isLocal[index] = isLocal
                    current.stages[index] = stage
                }
            }
            active = current
            let wasPhase = phase
            phase = .closed
            finishActive(into: &actions)
            phase = wasPhase
        }
        for transaction in queue {
            actions.append(.finished(TransactionResult(tag: transaction.tag, recipients: transaction.recipients.map {
                RecipientResult(address: $0.address, reply: reply, isLocal: isLocal, stage: stage)
            })))
        }
        queue.removeAll()
        outgoing.removeAll()
        expected.removeAll()
        phase = .closed
        if sendQuit { actions.append(.send(line("QUIT"))) }
        actions.append(.failed(SessionFailure(reply: reply, isLocal: isLocal, stage: stage, retryWithoutTLS: retryWithoutTLS)))
        actions.append(.close)
    }

    private mutating func sendQuit(into actions: inout [Action]) {
        phase = .quitting
        quitRequested = false
        actions.append(command("QUIT", expecting: .quit))
    }

    private mutating func sendNextOutgoing(into actions: inout [Action]) {
        guard !outgoing.isEmpty else { return }
        let next = outgoing.removeFirst()
        expected.append(next.expect)
        actions.append(.send(next.bytes))
    }

    private mutating func command(_ text: String, expecting expect: Expect) -> Action {
        expected.append(expect)
        return .send(line(text))
    }

    private func line(_ text: String) -> [UInt8] {
        var bytes = Array(text.utf8)
        bytes.append(13)
        bytes.append(10)
        return bytes
    }

    private func mailCommand(_ transaction: Transaction, size: Int, eightBit: Bool) -> [UInt8] {
        var bytes = Array("MAIL FROM:<".utf8)
        bytes.append(contentsOf: transaction.mailFrom.utf8)
        bytes.append(UInt8(ascii: ">"))
        if capabilities.size != nil { bytes.append(contentsOf: " SIZE=\(size)".utf8) }
        if eightBit, capabilities.eightBitMIME { bytes.append(contentsOf: " BODY=8BITMIME".utf8) }
        if transaction.requiresSMTPUTF8, capabilities.smtpUTF8 { bytes.append(contentsOf: " SMTPUTF8".utf8) }
        if capabilities.dsn {
            if let ret = transaction.dsnReturn { bytes.append(contentsOf: " RET=\(ret.rawValue)".utf8) }
            if let envelopeID = transaction.envelopeID {
                bytes.append(contentsOf: " ENVID=".utf8)
                bytes.append(contentsOf: SMTPClientSession.xtext(envelopeID))
            }
        }
        bytes.append(13)
        bytes.append(10)
        return bytes
    }

    private func rcptCommand(_ recipient: Recipient) -> [UInt8] {
        var bytes = Array("RCPT TO:<".utf8)
        bytes.append(contentsOf: recipient.address.utf8)
        bytes.append(UInt8(ascii: ">"))
        if capabilities.dsn {
            if let notify = recipient.notify, !notify.isEmpty {
                bytes.append(contentsOf: " NOTIFY=".utf8)
                bytes.append(contentsOf: notify.map(\.rawValue).joined(separator: ",").utf8)
            }
            if let original = recipient.originalRecipient {
                bytes.append(contentsOf: " ORCPT=rfc822;".utf8)
                bytes.append(contentsOf: SMTPClientSession.xtext(original))
            }
        }
        bytes.append(13)
        bytes.append(10)
        return bytes
    }

    /// True when `path` can be put between angle brackets safely: no control characters, spaces,
    /// or angle brackets (which would let an address inject SMTP commands). Pure; any caller.
    public static func isValidPath(_ path: String) -> Bool {
        !path.utf8.contains { $0 <= 32 || $0 == 127 || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") }
    }

    /// RFC 3461 xtext encoding: bytes outside "!"..."~", "+" and "=" become "+HH". Pure; any caller.
    public static func xtext(_ text: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte >= 33, byte <= 126, byte != UInt8(ascii: "+"), byte != UInt8(ascii: "=") {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "+"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
        }
        return out
    }
}
