import SMTPCore

extension SMTPServer {
    /// Writes one structured log line for a session event. Passwords never reach here
    /// (`AuthRequest` is not logged; AUTH events carry the user name only).
    func logSessionEvent(_ event: SMTPSession.LogEvent, sessionID: String) {
        Self.logSessionEvent(event, sessionID: sessionID, to: logger)
    }

    /// Writes the line for `event` to `logger`: fields go straight into the line (no field
    /// array), and nothing is built below the logger's level. Blocks only for the logger's
    /// write; any thread.
    static func logSessionEvent(_ event: SMTPSession.LogEvent, sessionID: String, to logger: NodeLogger) {
        switch event {
        case .connected:
            // The shell's "connect" line already names the client and the service.
            return
        case .helo(let helo, let extended):
            logger.log(.info, extended ? "ehlo" : "helo") { line in
                line.field("session", sessionID)
                line.field("helo", helo)
            }
        case .tlsEstablished(let info):
            logger.log(.info, "starttls") { line in
                line.field("session", sessionID)
                line.field("tls", info.version)
                line.field("cipher", info.cipher)
            }
        case .authSucceeded(let user, let tenant, let mechanism):
            logger.log(.info, "auth") { line in
                line.field("session", sessionID)
                line.field("user", user)
                line.field("tenant", tenant ?? "")
                line.field("mechanism", mechanism)
            }
        case .authFailed(let user, let mechanism, let result):
            logger.log(.warning, "auth failed") { line in
                line.field("session", sessionID)
                line.field("user", user)
                line.field("mechanism", mechanism)
                line.field("result", "\(result)")
            }
        case .reply(let code, let enhanced, let text):
            guard logger.enabled(.debug) || code >= 400 else { return }
            logger.log(.info, "reply") { line in
                line.field("session", sessionID)
                line.field("code", code)
                line.field("enhanced", enhanced ?? "")
                line.field("text", text)
            }
        case .messageReceived(let queueID, let sender, let recipients, let size):
            logger.log(.info, "message") { line in
                line.field("session", sessionID)
                line.field("queueId", queueID)
                line.field("from", sender)
                line.field("recipients", recipients)
                line.field("size", size)
            }
        case .queued(let queueID):
            logger.log(.info, "queued") { line in
                line.field("session", sessionID)
                line.field("queueId", queueID)
            }
        case .enqueueFailed(let queueID, let reason):
            logger.log(.error, "enqueue failed") { line in
                line.field("session", sessionID)
                line.field("queueId", queueID)
                line.field("reason", reason)
            }
        case .messageRejected(let queueID, let code, let enhanced, let reason):
            logger.log(.warning, "message rejected") { line in
                line.field("session", sessionID)
                line.field("queueId", queueID)
                line.field("code", code)
                line.field("enhanced", enhanced)
                line.field("reason", reason)
            }
        case .disconnected(let reason):
            logger.log(.info, "session end") { line in
                line.field("session", sessionID)
                line.field("reason", reason)
            }
        }
    }
}
