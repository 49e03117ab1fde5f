import Foundation
import NetworkIO
import RelayConfig
import SMTPCore
import SpoolStore
import SendarixSupport

extension SMTPServer {
    /// One SMTP connection: feeds socket bytes to its `SMTPSession` and performs the actions it
    /// returns. Loop-confined (all methods run on `loop`).
    final class Handler: ConnectionDelegate {
        let server: SMTPServer
        let kind: Kind
        let loop: EventLoop
        let sessionID: String
        let remote: SocketAddress
        var session: SMTPSession
        var connection: Connection?
        private var lastActivity = EventLoop.now()
        private var timer: UInt64?
        private(set) var closed = false
        private var user: String?
        /// Subject keys this session counts against (concurrent-session limits).
        private var limitKeys: [String] = []

        init(server: SMTPServer, kind: Kind, loop: EventLoop, sessionID: String, remote: SocketAddress) {
            self.server = server
            self.kind = kind
            self.loop = loop
            self.sessionID = sessionID
            self.remote = remote
            let cfg = server.config
            var configuration = SMTPSession.Configuration(hostname: server.hostname)
            configuration.portKind = kind == .submission ? .submission : (kind == .smtps ? .smtps : .relay)
            configuration.tlsAvailable = server.tls.context != nil
            configuration.maxMessageSize = cfg.limits.maxMessageSize
            configuration.maxRecipients = cfg.limits.maxRecipients
            configuration.maxErrors = cfg.limits.maxErrors
            configuration.maxDataLineLength = cfg.limits.maxDataLineLength
            configuration.localDomains = server.localDomains
            configuration.maxHops = cfg.limits.maxHops
            configuration.timeouts.command = cfg.timeouts.command
            configuration.timeouts.dataBlock = cfg.timeouts.dataBlock
            configuration.timeouts.dataTermination = cfg.timeouts.dataTermination
            if cfg.oauth.enabled { configuration.authMechanisms += ["XOAUTH2", "OAUTHBEARER"]; configuration.bearerScope = cfg.oauth.scope }
            let ip = remote.ip
            let trusted = IPAddress(ip).map { addr in cfg.policy.trustedNetworks.contains { $0.contains(addr) } } ?? false
            let context = SMTPSession.ConnectionContext(clientAddress: ip, clientPort: Int(remote.port),
                                                        isTrustedNetwork: trusted, isTLS: kind == .smtps,
                                                        tlsInfo: nil, sessionID: sessionID)
            let ids = server.queueIDs
            var environment = SMTPSession.Environment(now: { WallClock.now() }, makeQueueID: { ids.next() },
                                                      bodyBudget: server.bodyBudget)
            if let limits = server.sendingLimits { environment.admission = { limits.admit($0) } }
            if let feedback = server.feedback { environment.recipientCheck = { feedback.recipientCheck($0) } }
            session = SMTPSession(configuration: configuration, context: context, environment: environment)
            sessionParts = (configuration, context, environment)
        }

        private var sessionParts: (SMTPSession.Configuration, SMTPSession.ConnectionContext, SMTPSession.Environment)

        func begin(_ connection: Connection) {
            self.connection = connection
            server.logger.log(.info, "connect") { line in
                line.field("session", sessionID)
                line.field("client", remote.description)
                line.field("service", kind.rawValue)
            }
            if kind == .smtps {
                guard let ctx = server.tls.context else { connection.abort(); return }
                connection.startTLS(context: ctx)
            } else {
                perform(session.start())
            }
            armTimer()
        }

        // MARK: ConnectionDelegate

        func connection(_ connection: Connection, didRead bytes: ArraySlice<UInt8>) {
            lastActivity = EventLoop.now()
            perform(session.receive(bytes))
        }

        func connectionDidCompleteTLS(_ connection: Connection, info: NetworkIO.TLSInfo) {
            lastActivity = EventLoop.now()
            server.logger.log(.info, "tls", ["session": sessionID, "version": info.version, "cipher": info.cipher])
            let coreInfo = SMTPSession.TLSInfo(version: info.version, cipher: info.cipher)
            if kind == .smtps {
                // Implicit TLS: the session starts only now, knowing its TLS parameters.
                var context = sessionParts.1
                context.tlsInfo = coreInfo
                session = SMTPSession(configuration: sessionParts.0, context: context, environment: sessionParts.2)
                perform(session.start())
            } else {
                perform(session.tlsEstablished(coreInfo))
            }
        }

        func connectionDidClose(_ connection: Connection, error: NetworkError?) {
            guard !closed else { return }
            closed = true
            if let t = timer { loop.cancelTimer(t) }
            server.limiter.release(ip: remote.ip)
            server.sendingLimits?.sessionClosed(keys: limitKeys)
            NodeMetrics.shared.connectionClosed(kind.rawValue)
            // An orderly end was already logged by the session ("session end"); log the close only
            // when the client vanished or the socket failed.
            if error != nil || !session.isClosed {
                var fields: [(String, String)] = [("session", sessionID), ("bytesIn", String(connection.bytesRead))]
                if let error { fields.append(("error", error.description)) }
                server.logger.log(.info, "disconnect", fields: fields)
            }
            session.connectionClosed()
            server.removed(self, loop: loop)
            self.connection = nil
        }

        // MARK: Actions

        func perform(_ actions: [SMTPSession.Action]) {
            guard let connection else { return }
            for action in actions {
                switch action {
                case .send(let bytes):
                    connection.write(bytes)
                case .startTLS:
                    guard let ctx = server.tls.context else { connection.close(); return }
                    connection.startTLS(context: ctx)
                case .authenticate(let request):
                    authenticate(request)
                case .enqueue(let envelope, let message):
                    filterThenEnqueue(envelope, message)
                case .log(let event):
                    server.logSessionEvent(event, sessionID: sessionID)
                case .close:
                    connection.close()
                }
            }
            // Back pressure: while an AUTH check or an enqueue is pending and the session already
            // holds its share of pipelined input, leave the rest in the socket.
            connection.readPaused = !session.wantsInput
        }

        private func authenticate(_ request: SMTPSession.AuthRequest) {
            let me = LoopBound(self, loop: loop)
            server.authenticator.verify(username: request.username, password: request.password,
                                        clientIP: remote.ip, mechanism: request.mechanism) { result in
                me.execute { handler in
                    guard !handler.closed else { return }
                    if case .success(let user, let tenant) = result { handler.user = user
                        if handler.refusedByLimits(user: user, tenant: tenant) { return }
                    }
                    handler.perform(handler.session.authenticationCompleted(result))
                }
            }
        }

        func enqueue(_ incoming: SMTPSession.Envelope, _ message: [UInt8]) {
            let me = LoopBound(self, loop: loop)
            let server = self.server
            var remaining = incoming
            if kind == .relay, let feedback = server.feedback {
                // Bounces and complaints for VERP / feedback addresses are processed, not queued.
                let (mine, others) = feedback.split(incoming.recipients)
                if !mine.isEmpty {
                    let queueID = incoming.queueID
                    feedback.receive(mine, message) { ok in
                        guard others.isEmpty else { return }
                        me.execute { handler in
                            guard !handler.closed else { return }
                            handler.perform(handler.session.enqueueCompleted(ok ? .queued(queueID) : .unavailable))
                        }
                    }
                    if others.isEmpty { return }
                    remaining.recipients = others
                }
            }
            let (envelope, message, refusal) = server.credentialGate(remaining, message)
            if let refusal {
                server.logger.log(.info, "sender refused by credential", ["queueId": envelope.queueID, "reason": refusal])
                return perform(session.enqueueCompleted(.refused(reason: refusal)))
            }
            guard let domains = server.domains else {
                Self.propose(envelope, message, server: server, handler: me)
                return
            }
            switch domains.decide(envelope, message) {
            case .refuse(let reason):
                server.logger.log(.info, "sender refused by policy", ["queueId": envelope.queueID, "reason": reason])
                perform(session.enqueueCompleted(.refused(reason: reason)))
            case .store:
                Self.propose(envelope, message, server: server, handler: me)
            case .sign(let job):
                // DKIM signing (an RSA signature is about a millisecond) runs on a worker, not on
                // the event loop every other session on it is waiting for.
                server.signingQueue.async {
                    Self.propose(envelope, domains.sign(job), server: server, handler: me)
                }
            }
        }

        /// Proposes the enqueue and hands the result back to the session on its loop. Any thread.
        private static func propose(_ envelope: SMTPSession.Envelope, _ message: [UInt8], server: SMTPServer,
                                    handler me: LoopBound<Handler>) {
            let command = SpoolCommand.enqueue(SMTPServer.enqueueCommand(envelope, message))
            server.log.propose(command) { result in
                if case .success = result {
                    server.enqueued()
                    server.sendingLimits?.accepted(user: envelope.authenticatedUser, tenant: envelope.tenant,
                                                   recipients: envelope.recipients.map(\.address.address))
                    NodeMetrics.shared.accepted(tenant: envelope.tenant ?? "", recipients: envelope.recipients.count)
                }
                let outcome: SMTPSession.EnqueueResult
                switch result {
                case .success: outcome = .queued(envelope.queueID)
                case .failure(let e) where e.code == .storageFull: outcome = .storageFull
                case .failure(let e) where e.code == .unavailable: outcome = .unavailable
                case .failure(let e): outcome = .failed(reason: e.reason)
                }
                me.execute { handler in
                    guard !handler.closed else { return }
                    handler.perform(handler.session.enqueueCompleted(outcome))
                }
            }
        }

        /// Counts this authenticated session against its concurrent-session limits; over one, answers
        /// `421 4.7.0` and closes instead of completing the AUTH. True when refused.
        func refusedByLimits(user: String, tenant: String?) -> Bool {
            guard let limits = server.sendingLimits else { return false }
            switch limits.sessionAuthenticated(user: user, tenant: tenant, ip: remote.ip) {
            case .success(let keys):
                limitKeys = keys
                return false
            case .failure(let refusal):
                let r = refusal.reply
                connection?.write(Array("\(r.code) \(r.enhancedCode) \(r.text)\r\n".utf8))
                connection?.close()
                return true
            }
        }

        /// Sends 421 and closes (shutdown deadline reached).
        func shutdown() {
            perform(session.shutdown())
        }

        // MARK: Timeouts

        /// One live timer per connection: when it fires early relative to the last activity, it
        /// re-arms for the remainder instead of being rescheduled on every read.
        private func armTimer() {
            let timeout = Double(session.timeout)
            let elapsed = Double(EventLoop.now() &- lastActivity) / 1e9
            timer = loop.schedule(after: max(0.05, timeout - elapsed)) { [weak self] in
                guard let self, !self.closed else { return }
                let idle = Double(EventLoop.now() &- self.lastActivity) / 1e9
                if idle >= Double(self.session.timeout) {
                    self.server.logger.log(.info, "timeout", ["session": self.sessionID])
                    self.perform(self.session.timedOut())
                    self.connection?.close()
                } else {
                    self.armTimer()
                }
            }
        }
    }

    /// Maps an accepted SMTP envelope and its bytes to the spool's Enqueue command.
    static func enqueueCommand(_ envelope: SMTPSession.Envelope, _ message: [UInt8]) -> SpoolCommand.Enqueue {
        var flags: SpoolCommand.Flags = []
        if envelope.smtpUTF8 { flags.insert(.smtpUTF8) }
        if envelope.tlsInfo != nil { flags.insert(.receivedOverTLS) }
        let recipients = envelope.recipients.map { r -> SpoolCommand.Recipient in
            var notify: SpoolCommand.Notify = []
            if let n = r.notify {
                if n.isEmpty { notify.insert(.never) }
                if n.contains(.success) { notify.insert(.success) }
                if n.contains(.failure) { notify.insert(.failure) }
                if n.contains(.delay) { notify.insert(.delay) }
            }
            let orcpt = r.originalRecipient.map { "\($0.addressType);\($0.address)" } ?? ""
            return SpoolCommand.Recipient(address: r.address.address, notify: notify, originalRecipient: orcpt)
        }
        let bodyType: SpoolCommand.BodyType
        switch envelope.bodyType {
        case .sevenBit: bodyType = .sevenBit
        case .eightBitMIME: bodyType = .eightBitMIME
        case .binaryMIME: bodyType = .binaryMIME
        }
        return SpoolCommand.Enqueue(
            queueID: envelope.queueID, messageID: MessageHeaders.value(of: "Message-ID", in: message) ?? "",
            tenant: envelope.tenant ?? "",
            authUser: envelope.authenticatedUser ?? "", clientIP: envelope.clientAddress,
            sender: envelope.mailFrom?.address ?? "", recipients: recipients,
            receivedAt: Int64(envelope.receivedAt.timeIntervalSince1970 * 1000), bodyType: bodyType, flags: flags,
            dsnEnvelopeID: envelope.envelopeID ?? "", dsnReturn: envelope.dsnReturn.map { $0 == .headers ? .headers : .full } ?? .unspecified,
            body: message)
    }
}
