import SMTPCore

extension SMTPServer {
    /// Writes one structured log line for a session event. Passwords never reach here
    /// (`AuthRequest` is not logged; AUTH events carry the user name only).
    func logSessionEvent(_ event: SMTPSession.LogEvent, sessionID: String) {
        var fields: [(String, String)] = [("session", sessionID)]
        let name: String
        var level = NodeLogger.Level.info
        switch event {
        case .connected:
            // The shell's "connect" line already names the client and the service.
            return
        case .helo(let helo, let extended):
            name = extended ? "ehlo" : "helo"
            fields.append(("helo", helo))
        case .tlsEstablished(let info):
            name = "starttls"
            fields += [("tls", info.version), ("cipher", info.cipher)]
        case .authSucceeded(let user, let tenant, let mechanism):
            name = "auth"
            fields += [("user", user), ("tenant", tenant ?? ""), ("mechanism", mechanism)]
        case .authFailed(let user, let mechanism, let result):
            name = "auth failed"
            level = .warning
            fields += [("user", user), ("mechanism", mechanism), ("result", "\(result)")]
        case .reply(let code, let enhanced, let text):
            guard logger.enabled(.debug) || code >= 400 else { return }
            name = "reply"
            fields += [("code", String(code)), ("enhanced", enhanced ?? ""), ("text", text)]
        case .messageReceived(let queueID, let sender, let recipients, let size):
            name = "message"
            fields += [("queueId", queueID), ("from", sender), ("recipients", String(recipients)), ("size", String(size))]
        case .queued(let queueID):
            name = "queued"
            fields.append(("queueId", queueID))
        case .enqueueFailed(let queueID, let reason):
            name = "enqueue failed"
            level = .error
            fields += [("queueId", queueID), ("reason", reason)]
        case .messageRejected(let queueID, let code, let enhanced, let reason):
            name = "message rejected"
            level = .warning
            fields += [("queueId", queueID), ("code", String(code)), ("enhanced", enhanced), ("reason", reason)]
        case .disconnected(let reason):
            name = "session end"
            fields.append(("reason", reason))
        }
        logger.log(level, name, fields: fields)
    }
}
