extension SMTPSession {
    /// OAUTHBEARER client message (RFC 7628); the token is passed as the password, the authzid
    /// (possibly empty) as the user name.
    mutating func completeOAuthBearer(_ encoded: ArraySlice<UInt8>) {
        guard let decoded = SMTPBase64.decode(encoded) else { return replyUndecodable() }
        guard let m = SASLBearer.parseOAuthBearer(decoded) else {
            return reply(Reply(501, "5.5.2", "Invalid OAUTHBEARER authentication data"))
        }
        requestAuthentication(AuthRequest(mechanism: "OAUTHBEARER", username: m.user, password: m.token))
    }

    /// Answers a refused login: for the bearer mechanisms the error challenge first (`334` with
    /// the base64 JSON status; the client's next line then gets `535 5.7.8`), for the others
    /// `535 5.7.8` at once, with `reason` when given (e.g. a suspended credential).
    mutating func bearerOrFinalFailure(_ request: AuthRequest, reason: String?) {
        if request.mechanism == "XOAUTH2" || request.mechanism == "OAUTHBEARER" {
            authStep = .bearerFailed(reason: reason)
            mode = .authResponse
            return reply(Reply(334, nil, SASLBearer.errorChallenge(scope: configuration.bearerScope)))
        }
        reply(Reply(535, "5.7.8", reason ?? "Authentication credentials invalid"))
    }
}
