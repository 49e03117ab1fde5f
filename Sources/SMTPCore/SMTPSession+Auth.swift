extension SMTPSession {
    /// AUTH mechanism [initial-response] (RFC 4954). Only over TLS.
    mutating func handleAuth(_ argument: String) {
        guard context.isTLS else {
            return reply(Reply(538, "5.7.11", "Encryption required for requested authentication mechanism"))
        }
        guard heloName != nil && extended else { return reply(Reply(503, "5.5.1", "Error: send EHLO first")) }
        guard authenticatedUser == nil else { return reply(Reply(503, "5.5.1", "Error: already authenticated")) }
        guard transaction == nil else {
            return reply(Reply(503, "5.5.1", "Error: AUTH not permitted during a mail transaction"))
        }
        let parts = argument.split(separator: " ")
        guard parts.count == 1 || parts.count == 2 else {
            return reply(Reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"))
        }
        let mechanism = parts[0].uppercased()
        guard offeredMechanisms.contains(mechanism) else {
            return reply(Reply(504, "5.5.4", "Unrecognized authentication type"))
        }
        let initial = parts.count == 2 ? Array(parts[1].utf8) : nil
        switch (mechanism, initial) {
        case ("PLAIN", nil):
            authStep = .plain
            mode = .authResponse
            reply(Reply(334, nil, ""))
        case ("PLAIN", let response?):
            completePlain(response == [Byte.equals] ? [] : response[...])
        case ("XOAUTH2", nil):
            authStep = .xoauth2
            mode = .authResponse
            reply(Reply(334, nil, ""))
        case ("XOAUTH2", let response?):
            completeXOAuth2(response[...])
        case ("OAUTHBEARER", nil):
            authStep = .oauthBearer
            mode = .authResponse
            reply(Reply(334, nil, ""))
        case ("OAUTHBEARER", let response?):
            completeOAuthBearer(response[...])
        case (_, nil):
            authStep = .loginUsername
            mode = .authResponse
            reply(Reply(334, nil, "VXNlcm5hbWU6"))
        case (_, let response?):
            receiveLoginUsername(response == [Byte.equals] ? [] : response[...])
        }
    }

    /// One client line answering a 334 challenge; `*` cancels (RFC 4954 4).
    mutating func handleAuthResponse(_ line: Line) {
        mode = .command
        guard case .line(let bytes) = line else {
            return reply(Reply(500, "5.5.6", "Authentication exchange line is too long"))
        }
        if bytes.count == 1 && bytes.first == 0x2A {
            return reply(Reply(501, "5.0.0", "Authentication cancelled"))
        }
        switch authStep {
        case .plain:
            completePlain(bytes)
        case .xoauth2:
            completeXOAuth2(bytes)
        case .oauthBearer:
            completeOAuthBearer(bytes)
        case .bearerFailed(let reason):
            // RFC 7628 3.2.3: whatever the client answers to the error challenge, the exchange fails.
            reply(Reply(535, "5.7.8", reason ?? "Authentication credentials invalid"))
        case .loginUsername:
            receiveLoginUsername(bytes)
        case .loginPassword(let username):
            guard let password = SMTPBase64.decode(bytes) else { return replyUndecodable() }
            requestAuthentication(AuthRequest(mechanism: "LOGIN", username: username,
                                              password: String(decoding: password, as: UTF8.self)))
        }
    }

    /// PLAIN message: [authzid] NUL authcid NUL passwd (RFC 4616).
    mutating func completePlain(_ encoded: ArraySlice<UInt8>) {
        guard let decoded = SMTPBase64.decode(encoded) else { return replyUndecodable() }
        let fields = decoded.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count == 3, !fields[1].isEmpty, !fields[2].contains(0) else {
            return reply(Reply(501, "5.5.2", "Invalid PLAIN authentication data"))
        }
        let authorization = String(decoding: fields[0], as: UTF8.self)
        requestAuthentication(AuthRequest(
            mechanism: "PLAIN",
            username: String(decoding: fields[1], as: UTF8.self),
            password: String(decoding: fields[2], as: UTF8.self),
            authorizationIdentity: authorization.isEmpty ? nil : authorization))
    }

    /// XOAUTH2 message: `user=` user ^A `auth=Bearer ` token ^A ^A. The token is passed as the password.
    mutating func completeXOAuth2(_ encoded: ArraySlice<UInt8>) {
        guard let decoded = SMTPBase64.decode(encoded) else { return replyUndecodable() }
        guard let m = SASLBearer.parseXOAuth2(decoded) else {
            return reply(Reply(501, "5.5.2", "Invalid XOAUTH2 authentication data"))
        }
        requestAuthentication(AuthRequest(mechanism: "XOAUTH2", username: m.user, password: m.token))
    }

    mutating func receiveLoginUsername(_ encoded: ArraySlice<UInt8>) {
        guard let username = SMTPBase64.decode(encoded) else { return replyUndecodable() }
        authStep = .loginPassword(username: String(decoding: username, as: UTF8.self))
        mode = .authResponse
        reply(Reply(334, nil, "UGFzc3dvcmQ6"))
    }

    mutating func replyUndecodable() {
        reply(Reply(501, "5.5.2", "Cannot decode base64 response"))
    }

    /// Hands credentials to the shell and stops processing input until `authenticationCompleted`.
    mutating func requestAuthentication(_ request: AuthRequest) {
        pendingAuth = request
        mode = .awaitingAuthentication
        terminal = .authenticate(request)
    }
}
