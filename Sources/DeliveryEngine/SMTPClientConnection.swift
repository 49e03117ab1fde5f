import DeliveryCore
import NetworkIO

/// One outbound SMTP connection: drives an `SMTPClientSession` over a NetworkIO `Connection`
/// (connect with timeout, implicit TLS or STARTTLS, reply timeouts, QUIT when idle too long) and
/// runs one transaction at a time, reporting each result through a completion.
///
/// Loop-confined: every method runs on `loop` (callers hop there with `loop.execute`). The
/// `ConnectionPool` owns the bookkeeping; `onClosed` tells it (once) that the socket is gone.
final class SMTPClientConnection: ConnectionDelegate, @unchecked Sendable {
    // Safe: all mutable state is touched only on `loop`'s thread (callers use `loop.execute`).

    /// Where and how to connect.
    struct Target: Sendable {
        /// Host name (SNI, certificate name, remoteHost in events).
        var hostName: String
        /// Address to connect to.
        var address: SocketAddress
        /// Local address to bind, or nil.
        var source: SocketAddress?
        /// Session settings (TLS policy, implicit TLS, credentials, HELO name).
        var session: SMTPClientSession.Configuration
        /// Context without certificate checks (opportunistic/required).
        var plainContext: TLSContext?
        /// Context verifying the chain and host name (verify).
        var verifyContext: TLSContext?
        /// Context that checks the chain and host name without enforcing them, used instead of
        /// `plainContext` when set (MTA-STS testing: report what enforcement would refuse).
        var reportContext: TLSContext? = nil
        /// Connect timeout, seconds.
        var connectTimeout: Double
        /// Cap on reply and handshake timeouts, seconds.
        var replyTimeoutCap: Double
        /// Idle seconds before QUIT.
        var idleTimeout: Double

        /// `name[ip]:port`, as events report the remote host.
        var remoteHost: String { "\(hostName)[\(address.ip)]:\(address.port)" }
    }

    /// What happened to one submitted transaction.
    struct Report: Sendable {
        /// Per-recipient results (local replies when nothing was sent).
        var result: SMTPClientSession.TransactionResult
        /// Set when the session ended (before, during or right after the transaction).
        var failure: SMTPClientSession.SessionFailure?
        /// Set when the TCP connect (or implicit TLS handshake) failed: nothing reached the server.
        var connectFailure: BounceClassifier.LocalFailure?
        /// True when the connection was already closed when the transaction arrived (a pooled
        /// connection that went away): nothing was sent, retry on a fresh connection.
        var staleConnection: Bool
        /// True when the connection can take another transaction.
        var reusable: Bool
        /// Transactions submitted on this connection so far (messages per connection).
        var transactions: Int
        /// True when the receiver advertised DSN (it takes over NOTIFY=SUCCESS reporting).
        var receiverDSN = false
        /// How TLS went on this connection; set on the first report of a connection whose policy
        /// asked for TLS and that got as far as deciding it (TLS reports count sessions).
        var tls: TLSSessionOutcome? = nil
        /// True when the commit gate held the body back and this side dropped the connection: the
        /// recipients the receiver accepted end with a local "lost connection during body"
        /// although the receiver did nothing wrong and never got the message.
        var bodyHeldBack = false
    }

    typealias Completion = @Sendable (Report) -> Void
    /// Decides, on the loop thread, whether a transaction may still send its body. Must not block.
    typealias CommitGate = @Sendable () -> Bool

    let loop: EventLoop
    let target: Target
    /// Called once on the loop when the socket is closed.
    var onClosed: (@Sendable () -> Void)?
    /// Transactions submitted so far (messages per connection).
    private(set) var transactions = 0

    private var session: SMTPClientSession
    private var connection: Connection?
    private var pending: [UInt64: Completion] = [:]
    /// Per transaction: asked at its commit point (just before the body leaves); false closes the
    /// connection instead, so the server never gets the complete message.
    private var commitGates: [UInt64: CommitGate] = [:]
    /// The transaction whose body a commit gate held back (its report says so).
    private var heldBack: UInt64?
    private var connected = false
    private var handshaking = false
    private var closed = false
    private var quitting = false
    private var timer: UInt64?
    private var idleTimer: UInt64?
    private var collected: [SMTPClientSession.TransactionResult] = []
    private var usedVerification = false
    private var checkedCertificate = false
    private var tlsOutcome: TLSSessionOutcome?
    private var tlsOutcomeReported = false

    /// Creates an unconnected connection. Any thread (the object is then used on `loop`).
    init(target: Target, loop: EventLoop) {
        self.target = target
        self.loop = loop
        self.session = SMTPClientSession(configuration: target.session)
    }

    /// Runs `transaction` (connecting first when needed); `completion` runs on the loop once.
    /// `mayCommit`, when given, is asked just before the body is sent (see `CommitGate`).
    /// Loop thread only.
    func submit(_ transaction: SMTPClientSession.Transaction, mayCommit: CommitGate? = nil,
                completion: @escaping Completion) {
        cancelIdleTimer()
        if closed || quitting || session.isClosed {
            completion(Report(result: SMTPClientSession.TransactionResult(tag: transaction.tag, recipients: transaction.recipients.map {
                SMTPClientSession.RecipientResult(address: $0.address,
                                                  reply: SMTPReply(451, EnhancedStatusCode(4, 4, 2), "pooled connection closed"),
                                                  isLocal: true)
            }), failure: nil, connectFailure: nil, staleConnection: true, reusable: false, transactions: transactions))
            return
        }
        transactions += 1
        pending[transaction.tag] = completion
        commitGates[transaction.tag] = mayCommit
        if connection == nil {
            do {
                connection = try Connection.connect(to: target.address, from: target.source, loop: loop,
                                                    timeout: target.connectTimeout, delegate: self)
            } catch {
                connectFailed(.connectionRefused)
                return
            }
            // The session queues the transaction until the server is ready.
            perform(session.submit(transaction))
            return
        }
        perform(session.submit(transaction))
    }

    /// Ends the session politely (QUIT when idle). Loop thread only.
    func quit() {
        cancelIdleTimer()
        guard !closed else { return }
        quitting = true
        if connection == nil {
            markClosed()
            return
        }
        perform(session.quit())
    }

    /// True when the session is idle and open. Loop thread only.
    var isIdle: Bool { !closed && session.isIdle && pending.isEmpty }

    // MARK: ConnectionDelegate

    func connectionDidConnect(_ connection: Connection) {
        connected = true
        if target.session.implicitTLS {
            startTLS(verify: target.session.tlsPolicy == .verify)
        } else {
            armReplyTimer()
        }
    }

    func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
        perform(session.receive(bytes))
    }

    func connectionDidCompleteTLS(_ connection: Connection, info: TLSInfo) {
        handshaking = false
        tlsOutcome = TLSSessionOutcome.handshake(verifyResult: checkedCertificate ? connection.peerVerifyResult : nil)
        cancelTimer()
        if target.session.implicitTLS {
            armReplyTimer() // now wait for the greeting
        } else {
            perform(session.tlsEstablished())
        }
    }

    func connectionDidClose(_ connection: Connection, error: NetworkError?) {
        cancelTimer()
        cancelIdleTimer()
        if !connected {
            let failure: BounceClassifier.LocalFailure = error?.code == .timedOut ? .connectionTimeout : .connectionRefused
            connectFailed(failure)
            return
        }
        if handshaking {
            handshaking = false
            let verification = usedVerification && (error?.reason.contains("certificate verify failed") ?? false)
            let code = checkedCertificate ? connection.peerVerifyResult : nil
            tlsOutcome = code.flatMap { TLSReport.ResultType.forVerifyError($0) }.map { .failure($0, reasonCode: "X509_V_ERR \(code!)") }
                ?? .failure(.validationFailure, reasonCode: "TLS handshake failed")
            if target.session.implicitTLS {
                connectFailed(verification ? .tlsVerificationFailed : .tlsHandshakeFailed)
                return
            }
            perform(session.tlsFailed(verification: verification))
        } else {
            perform(session.connectionClosed())
        }
        markClosed()
    }

    // MARK: Driving the session

    private func perform(_ actions: [SMTPClientSession.Action]) {
        var failure: SMTPClientSession.SessionFailure?
        var closeNow = false
        var refusedCommit = false
        for action in actions where !refusedCommit {
            switch action {
            case .commitPoint(let tag):
                if let gate = commitGates.removeValue(forKey: tag), !gate() {
                    refusedCommit = true
                    heldBack = tag
                }
            case .send(let bytes):
                connection?.write(bytes)
            case .startTLS(let verify):
                startTLS(verify: verify)
            case .ready:
                // Past EHLO (and STARTTLS when it happened): no TLS now means it was not offered.
                if tlsOutcome == nil, !session.isTLSActive { tlsOutcome = .failure(.starttlsNotSupported, reasonCode: nil) }
            case .finished(let result):
                collected.append(result)
            case .failed(let f):
                failure = f
                if f.stage == .startTLS, tlsOutcome == nil { tlsOutcome = .failure(.starttlsNotSupported, reasonCode: nil) }
            case .close:
                closeNow = true
            }
        }
        if !collected.isEmpty {
            let results = collected
            collected.removeAll()
            for result in results {
                commitGates[result.tag] = nil
                guard let completion = pending.removeValue(forKey: result.tag) else { continue }
                let reusable = failure == nil && !closeNow && !session.isClosed
                let held = result.tag == heldBack
                if held { heldBack = nil }
                completion(Report(result: result, failure: failure, connectFailure: nil, staleConnection: false,
                                  reusable: reusable, transactions: transactions, receiverDSN: session.capabilities.dsn,
                                  tls: takeTLSOutcome(), bodyHeldBack: held))
            }
        }
        if refusedCommit {
            // The body stays here: the server sees the connection drop before the end of data and
            // discards the transaction; the session fails it as a lost connection.
            connection?.abort()
            return
        }
        if closeNow {
            connection?.close()
            markClosed()
            return
        }
        if !handshaking { armReplyTimer() }
        if isIdle { armIdleTimer() }
    }

    /// The session's TLS outcome, once per connection: nil when TLS was not asked for (policy
    /// none, implicit TLS) or nothing decided it yet.
    private func takeTLSOutcome() -> TLSSessionOutcome? {
        guard !tlsOutcomeReported, target.session.tlsPolicy != .none, !target.session.implicitTLS else { return nil }
        guard let outcome = tlsOutcome else { return nil }
        tlsOutcomeReported = true
        return outcome
    }

    private func startTLS(verify: Bool) {
        guard let connection else { return }
        let reportOnly = !verify && target.reportContext != nil
        let context = verify ? target.verifyContext : (target.reportContext ?? target.plainContext)
        checkedCertificate = verify || reportOnly
        guard let context else {
            // No context could be created: behave as a failed handshake.
            handshaking = true
            connection.abort(NetworkError(.tlsConfiguration, "no TLS client context"))
            return
        }
        usedVerification = verify
        handshaking = true
        cancelTimer()
        timer = loop.schedule(after: target.replyTimeoutCap) { [weak self] in
            self?.connection?.abort(NetworkError(.timedOut, "TLS handshake timed out"))
        }
        connection.startTLS(context: context, asClient: true, serverName: target.hostName, verifyHost: verify || reportOnly)
    }

    private func connectFailed(_ failure: BounceClassifier.LocalFailure) {
        let waiting = pending
        pending.removeAll()
        commitGates.removeAll()
        markClosed()
        for (tag, completion) in waiting {
            completion(Report(result: SMTPClientSession.TransactionResult(tag: tag, recipients: []), failure: nil,
                              connectFailure: failure, staleConnection: false, reusable: false, transactions: transactions))
        }
    }

    private func markClosed() {
        guard !closed else { return }
        closed = true
        commitGates.removeAll()
        cancelTimer()
        cancelIdleTimer()
        let waiting = pending
        pending.removeAll()
        for (tag, completion) in waiting {
            // Transactions the session never reported (should not happen): fail them locally.
            completion(Report(result: SMTPClientSession.TransactionResult(tag: tag, recipients: []),
                              failure: SMTPClientSession.SessionFailure(reply: SMTPReply(451, EnhancedStatusCode(4, 4, 2), "connection closed"),
                                                                       isLocal: true, stage: .idle),
                              connectFailure: nil, staleConnection: false, reusable: false, transactions: transactions))
        }
        connection?.delegate = nil
        connection = nil
        let callback = onClosed
        onClosed = nil
        callback?()
    }

    private func armReplyTimer() {
        cancelTimer()
        guard !closed, let seconds = session.replyTimeout else { return }
        timer = loop.schedule(after: min(seconds, target.replyTimeoutCap)) { [weak self] in
            guard let self else { return }
            self.timer = nil
            self.perform(self.session.timedOut())
        }
    }

    private func armIdleTimer() {
        cancelIdleTimer()
        idleTimer = loop.schedule(after: target.idleTimeout) { [weak self] in
            guard let self else { return }
            self.idleTimer = nil
            if self.isIdle { self.quit() }
        }
    }

    private func cancelTimer() {
        if let timer { loop.cancelTimer(timer) }
        timer = nil
    }

    private func cancelIdleTimer() {
        if let idleTimer { loop.cancelTimer(idleTimer) }
        idleTimer = nil
    }
}
