import Foundation

/// The server side of one SMTP connection as a pure state machine (RFC 5321 with STARTTLS, AUTH, SIZE,
/// 8BITMIME, SMTPUTF8, PIPELINING, CHUNKING, BINARYMIME, DSN, ENHANCEDSTATUSCODES).
///
/// The network shell feeds it bytes and events and carries out the returned `Action`s in order. It owns no
/// socket, clock or randomness (time and queue IDs come from `Environment`). Every method returns at once;
/// one session is driven by one caller at a time (it is a value type).
public struct SMTPSession: Sendable {
    /// Listener policy and limits.
    public let configuration: Configuration
    /// Facts about the connection; `isTLS`/`tlsInfo` change after STARTTLS.
    public private(set) var context: ConnectionContext
    let environment: Environment

    /// What the session is reading or waiting for.
    enum Mode: Sendable, Equatable {
        case notStarted
        case command
        case data
        case bdat
        case authResponse
        case awaitingAuthentication
        case awaitingEnqueue
        case awaitingTLS
        case closed
    }

    /// A SASL exchange in progress (waiting for a `334` response line).
    enum AuthStep: Sendable, Equatable {
        case plain
        case xoauth2
        case oauthBearer
        /// A bearer token was refused and the error challenge sent: the next line ends with 535.
        case bearerFailed(reason: String?)
        case loginUsername
        case loginPassword(username: String)
    }

    /// What happens to the BDAT chunk being read.
    enum ChunkDisposition: Sendable, Equatable {
        case store
        case discard(Reply, abortsTransaction: Bool)
    }

    /// One mail transaction, from MAIL to the end of data.
    struct Transaction: Sendable {
        var queueID: String
        var mailFrom: SMTPAddress?
        var recipients: [Recipient] = []
        var bodyType: BodyType = .sevenBit
        var smtpUTF8 = false
        var declaredSize: Int?
        var dsnReturn: DSNReturn?
        var envelopeID: String?
        var usedBDAT = false
    }

    var mode: Mode = .notStarted
    /// The HELO/EHLO name, once given (cleared by STARTTLS).
    public internal(set) var heloName: String?
    /// True when the client greeted with EHLO.
    var extended = false
    /// The authenticated user, once AUTH succeeded.
    public internal(set) var authenticatedUser: String?
    /// The authenticated user's tenant.
    public internal(set) var tenant: String?
    var transaction: Transaction?
    var authStep: AuthStep = .plain
    var pendingAuth: AuthRequest?
    var errorCount = 0
    var commandCount = 0

    /// Received bytes not yet processed start at `inbox[inboxStart]`.
    var inbox: [UInt8] = []
    var inboxStart = 0
    var discardingLongLine = false

    var decoder = SMTPDataDecoder(maxLineLength: 998, maxSize: 0)
    var messageBody: [UInt8] = []
    var bdatRemaining = 0
    var bdatLast = false
    var chunkSize = 0
    var bdatDisposition: ChunkDisposition = .store
    var lineChecker = SMTPLineChecker(maxLineLength: 998)
    /// Bytes of `environment.bodyBudget` this session holds for `messageBody`.
    var reservedBodyBytes = 0
    /// Bytes of `environment.bodyBudget` this session holds for input buffered while it waits for
    /// the shell (an AUTH check or an enqueue).
    var reservedInputBytes = 0

    /// Replies, log actions and the final action gathered for the next `flush()`.
    var outbox: [UInt8] = []
    var pending: [Action] = []
    var terminal: Action?

    /// Creates a session for a new connection; call `start()` next. Does not block.
    public init(configuration: Configuration, context: ConnectionContext, environment: Environment) {
        self.configuration = configuration
        self.context = context
        self.environment = environment
    }

    /// Seconds of client inactivity the shell should allow in the current state before calling `timedOut()`.
    public var timeout: Int {
        switch mode {
        case .data, .bdat: return configuration.timeouts.dataBlock
        case .awaitingTLS: return configuration.timeouts.tlsHandshake
        case .awaitingAuthentication, .awaitingEnqueue: return configuration.timeouts.dataTermination
        case .notStarted, .command, .authResponse, .closed: return configuration.timeouts.command
        }
    }

    /// True once the session has asked the shell to close.
    public var isClosed: Bool { mode == .closed }

    /// False while the session waits for the shell (an AUTH check or an enqueue) and already holds
    /// `configuration.maxPendingInput` bytes of input the client pipelined meanwhile: the shell should
    /// stop reading the socket (back pressure: the client's data stays in TCP buffers, flow control
    /// stops the client) and read again once this turns true. Input a shell delivers anyway is
    /// buffered up to `maxPendingInput + pendingInputSlack` bytes, then the session closes with 421.
    public var wantsInput: Bool {
        switch mode {
        case .awaitingAuthentication, .awaitingEnqueue:
            return inbox.count - inboxStart < configuration.maxPendingInput
        default:
            return true
        }
    }

    /// What a shell honouring `wantsInput` may still deliver past `maxPendingInput`: the read that
    /// crossed it (up to 64 KiB) plus one more.
    public static let pendingInputSlack = 131_072

    /// Sends the 220 greeting and logs the connection. Call once, first. Does not block.
    public mutating func start() -> [Action] {
        guard mode == .notStarted else { return [] }
        pending.append(.log(.connected(clientAddress: context.clientAddress, clientPort: context.clientPort,
                                       tls: context.isTLS ? context.tlsInfo : nil)))
        mode = .command
        reply(Reply(220, nil, "\(configuration.hostname) ESMTP Sendarix"))
        processInput()
        return flush()
    }

    /// Feeds bytes read from the socket (any split). Returns replies batched into one `.send`, possibly
    /// followed by `.startTLS`, `.authenticate`, `.enqueue` or `.close`. Does not block.
    public mutating func receive(_ bytes: ArraySlice<UInt8>) -> [Action] {
        switch mode {
        case .closed, .awaitingTLS:
            return [] // after STARTTLS no plaintext may be carried over into the TLS session
        default:
            break
        }
        var rest = bytes
        if inboxStart == inbox.count {
            inbox.removeAll(keepingCapacity: true)
            inboxStart = 0
            // Fast path: payload goes straight from the socket chunk into the message, unbuffered.
            while !rest.isEmpty && (mode == .data || (mode == .bdat && bdatRemaining > 0)) {
                rest = rest.dropFirst(feedPayload(rest))
            }
        } else if inboxStart > 65_536 && inboxStart * 2 > inbox.count {
            inbox.removeSubrange(0..<inboxStart)
            inboxStart = 0
        }
        guard mode != .closed else { return flush() }
        inbox.append(contentsOf: rest)
        processInput()
        if (mode == .awaitingAuthentication || mode == .awaitingEnqueue)
            && inbox.count - inboxStart > configuration.maxPendingInput + Self.pendingInputSlack {
            close(Reply(421, "4.7.0", "\(configuration.hostname) Error: too much pipelined input"),
                  reason: "input buffer limit")
        }
        return flush()
    }

    /// Tells the session the STARTTLS handshake finished. Resets to the initial state (RFC 3207 4.2): the
    /// client must send EHLO again. Does not block.
    public mutating func tlsEstablished(_ info: TLSInfo) -> [Action] {
        guard mode == .awaitingTLS else { return [] }
        context.isTLS = true
        context.tlsInfo = info
        heloName = nil
        extended = false
        authenticatedUser = nil
        tenant = nil
        resetTransaction()
        inbox.removeAll(keepingCapacity: true)
        inboxStart = 0
        mode = .command
        pending.append(.log(.tlsEstablished(info)))
        return flush()
    }

    /// Tells the session the result of an `.authenticate`; replies and resumes buffered input. Does not block.
    public mutating func authenticationCompleted(_ result: AuthResult) -> [Action] {
        guard mode == .awaitingAuthentication, let request = pendingAuth else { return [] }
        pendingAuth = nil
        mode = .command
        switch result {
        case .success(let user, let tenant):
            authenticatedUser = user
            self.tenant = tenant
            pending.append(.log(.authSucceeded(user: user, tenant: tenant, mechanism: request.mechanism)))
            reply(Reply(235, "2.7.0", "Authentication successful"))
        case .failure, .refused:
            pending.append(.log(.authFailed(user: request.username, mechanism: request.mechanism, result: result)))
            if case .refused(let reason) = result { bearerOrFinalFailure(request, reason: reason) } else { bearerOrFinalFailure(request, reason: nil) }
        case .throttled:
            pending.append(.log(.authFailed(user: request.username, mechanism: request.mechanism, result: result)))
            reply(Reply(454, "4.7.0", "Too many failed authentication attempts, try later"))
        case .temporaryFailure:
            pending.append(.log(.authFailed(user: request.username, mechanism: request.mechanism, result: result)))
            reply(Reply(454, "4.7.0", "Temporary authentication failure"))
        }
        checkLimits()
        processInput()
        return flush()
    }

    /// Tells the session the result of an `.enqueue`; replies and resumes buffered input. Does not block.
    public mutating func enqueueCompleted(_ result: EnqueueResult) -> [Action] {
        guard mode == .awaitingEnqueue else { return [] }
        let queueID = transaction?.queueID ?? ""
        resetTransaction()
        mode = .command
        switch result {
        case .queued(let id):
            pending.append(.log(.queued(queueID: id)))
            reply(Reply(250, "2.0.0", "OK: queued as \(id)"), countsAsError: false)
        case .storageFull:
            pending.append(.log(.enqueueFailed(queueID: queueID, reason: "storage full")))
            reply(Reply(452, "4.3.1", "Insufficient system storage"), countsAsError: false)
        case .failed(let reason):
            pending.append(.log(.enqueueFailed(queueID: queueID, reason: reason)))
            reply(Reply(451, "4.3.0", "Local error in processing, try again later"), countsAsError: false)
        case .unavailable:
            pending.append(.log(.enqueueFailed(queueID: queueID, reason: "unavailable")))
            reply(Reply(451, "4.3.0", "Service temporarily unavailable, try again later"), countsAsError: false)
        case .refused(let reason):
            pending.append(.log(.enqueueFailed(queueID: queueID, reason: "refused: " + reason)))
            // One line: a reason must not smuggle a CRLF into the reply.
            let text = String(reason.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(400))
            reply(Reply(550, "5.7.1", text), countsAsError: true)
        }
        processInput()
        return flush()
    }

    /// The client was idle longer than `timeout`: 421 4.4.2 and close. Does not block.
    public mutating func timedOut() -> [Action] {
        guard mode != .closed else { return [] }
        close(Reply(421, "4.4.2", "\(configuration.hostname) Error: timeout exceeded"), reason: "timeout")
        return flush()
    }

    /// The server is stopping: 421 4.3.2 and close. Does not block.
    public mutating func shutdown() -> [Action] {
        guard mode != .closed else { return [] }
        close(Reply(421, "4.3.2", "Service shutting down"), reason: "shutdown")
        return flush()
    }

    /// The connection is gone (the session may be mid-message): drops buffered input and the body and
    /// gives the session's share of the body budget back. Call it once when the socket closes. Does not block.
    public mutating func connectionClosed() {
        inbox = []
        inboxStart = 0
        messageBody = []
        releaseBody()
        releaseInput()
        mode = .closed
    }

    // MARK: - Input loop

    enum Line {
        case line(ArraySlice<UInt8>)
        case tooLong
    }

    /// Runs every complete unit of buffered input (command line, SASL response, DATA payload, BDAT chunk)
    /// until input runs out or the session must wait for the shell.
    mutating func processInput() {
        while true {
            switch mode {
            case .command:
                guard let line = nextLine(limit: max(configuration.maxCommandLineLength, configuration.maxAuthLineLength)) else { return }
                commandCount += 1
                handleCommandLine(line)
                checkLimits()
            case .authResponse:
                guard let line = nextLine(limit: configuration.maxAuthLineLength) else { return }
                handleAuthResponse(line)
                checkLimits()
            case .data, .bdat:
                if mode == .bdat && bdatRemaining == 0 {
                    finishChunk()
                    checkLimits()
                    continue
                }
                guard inboxStart < inbox.count else { return }
                let consumed = feedPayload(inbox[inboxStart...])
                guard mode != .closed else { return }
                inboxStart += consumed
            case .notStarted, .awaitingAuthentication, .awaitingEnqueue, .awaitingTLS, .closed:
                return
            }
        }
    }

    /// Feeds DATA or BDAT payload and returns how many bytes were consumed; finishes the message or chunk
    /// (and so leaves the payload mode) when its end is reached.
    mutating func feedPayload(_ bytes: ArraySlice<UInt8>) -> Int {
        switch mode {
        case .data:
            var body: [UInt8] = []
            swap(&body, &messageBody)
            var dataDecoder = decoder
            let progress = bytes.withUnsafeBufferPointer { dataDecoder.decode($0, into: &body) }
            if dataDecoder.problem == nil && !reserveBody(upTo: body.count) {
                dataDecoder.reject(.resourcesExhausted, body: &body)
                releaseBody()
            }
            decoder = dataDecoder
            swap(&body, &messageBody)
            if progress.finished {
                finishData()
                checkLimits()
            }
            return progress.consumed
        case .bdat:
            let take = min(bdatRemaining, bytes.count)
            storeChunk(bytes.prefix(take))
            bdatRemaining -= take
            if bdatRemaining == 0 {
                finishChunk()
                checkLimits()
            }
            return take
        default:
            return 0
        }
    }

    /// The next line without its line ending (CRLF, or a bare LF, which commands tolerate), or `.tooLong`
    /// once an over-long line has been skipped up to its end. `limit` includes the CRLF.
    mutating func nextLine(limit: Int) -> Line? {
        guard let newline = inbox[inboxStart...].firstIndex(of: Byte.lf) else {
            if inbox.count - inboxStart > limit {
                discardingLongLine = true
                inbox.removeAll(keepingCapacity: true)
                inboxStart = 0
            }
            return nil
        }
        let start = inboxStart
        inboxStart = newline + 1
        if discardingLongLine {
            discardingLongLine = false
            return .tooLong
        }
        guard newline + 1 - start <= limit else { return .tooLong }
        var end = newline
        if end > start && inbox[end - 1] == Byte.cr { end -= 1 }
        return .line(inbox[start..<end])
    }

    // MARK: - Output

    /// Queues a reply and logs it. Failures count towards `maxErrors` unless `countsAsError` is false.
    mutating func reply(_ reply: Reply, countsAsError: Bool = true) {
        reply.append(to: &outbox)
        pending.append(.log(.reply(code: reply.code, enhancedCode: reply.enhancedCode, text: reply.text)))
        if reply.isFailure && countsAsError { errorCount += 1 }
    }

    /// Sends a final reply, drops all input and asks the shell to close.
    mutating func close(_ finalReply: Reply, reason: String) {
        reply(finalReply, countsAsError: false)
        pending.append(.log(.disconnected(reason: reason)))
        inbox = []
        inboxStart = 0
        messageBody = []
        releaseBody()
        mode = .closed
        terminal = .close
    }

    /// Closes the session once too many errors or commands have been seen.
    mutating func checkLimits() {
        guard mode != .closed else { return }
        if errorCount >= configuration.maxErrors {
            close(Reply(421, "4.7.0", "\(configuration.hostname) Error: too many errors"), reason: "too many errors")
        } else if commandCount > configuration.maxCommands {
            close(Reply(421, "4.7.0", "\(configuration.hostname) Error: too many commands"), reason: "too many commands")
        }
    }

    /// Returns the actions gathered since the last flush: logs, one `.send`, then the terminal action.
    mutating func flush() -> [Action] {
        accountHeldInput()
        var actions = pending
        pending = []
        if !outbox.isEmpty {
            actions.append(.send(outbox))
            outbox = []
        }
        if let terminal {
            actions.append(terminal)
            self.terminal = nil
        }
        return actions
    }

    mutating func resetTransaction() {
        transaction = nil
        messageBody = []
        releaseBody()
        lineChecker = SMTPLineChecker(maxLineLength: configuration.maxDataLineLength)
    }

    /// Grows this session's share of the body budget to cover `count` bytes (in 64 KiB steps, so a
    /// budget is touched once per step, not per read); false when the budget has no room. Does not block.
    mutating func reserveBody(upTo count: Int) -> Bool {
        guard let budget = environment.bodyBudget, count > reservedBodyBytes else { return true }
        let step = 64 * 1024
        let target = (count + step - 1) / step * step
        guard budget.reserve(target - reservedBodyBytes) else { return false }
        reservedBodyBytes = target
        return true
    }

    /// Gives this session's share of the body budget back. Does not block.
    mutating func releaseBody() {
        guard reservedBodyBytes > 0 else { return }
        environment.bodyBudget?.release(reservedBodyBytes)
        reservedBodyBytes = 0
    }

    /// Counts the input held while waiting for the shell against the body budget (in 64 KiB steps,
    /// taken even past the limit: the bytes are already in memory, and new bodies are refused while
    /// the budget is over), and gives it back once the session reads again. Does not block.
    mutating func accountHeldInput() {
        guard let budget = environment.bodyBudget else { return }
        let held: Int
        switch mode {
        case .awaitingAuthentication, .awaitingEnqueue:
            if inboxStart > 0 {
                // Drop what was already processed so that what is counted is what is held.
                inbox.removeSubrange(0..<inboxStart)
                inboxStart = 0
            }
            held = inbox.count
        default:
            held = 0
        }
        let step = 64 * 1024
        let target = (held + step - 1) / step * step
        if target > reservedInputBytes {
            budget.take(target - reservedInputBytes)
        } else if target < reservedInputBytes {
            budget.release(reservedInputBytes - target)
        }
        reservedInputBytes = target
    }

    /// Gives back the budget held for buffered input. Does not block.
    mutating func releaseInput() {
        guard reservedInputBytes > 0 else { return }
        environment.bodyBudget?.release(reservedInputBytes)
        reservedInputBytes = 0
    }
}
