/// The client messages and error challenge of the bearer-token SASL mechanisms: OAUTHBEARER
/// (RFC 7628) and Google's XOAUTH2. Pure; any thread.
public enum SASLBearer {
    /// What a client message carries.
    public struct Message: Sendable, Equatable {
        /// The user the client names (OAUTHBEARER `a=` authzid, XOAUTH2 `user=`); empty when none.
        public var user: String
        /// The bearer token.
        public var token: String
    }

    /// Parses an OAUTHBEARER client message (decoded): a GS2 header `n,a=USER,` (or `y,`; channel
    /// binding `p=` is not supported), then `^A`-separated `key=value` pairs with
    /// `auth=Bearer TOKEN`, ended by `^A^A`. nil when malformed.
    public static func parseOAuthBearer(_ bytes: [UInt8]) -> Message? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let firstSep = text.firstIndex(of: "\u{01}") else { return nil }
        let gs2 = text[..<firstSep].split(separator: ",", omittingEmptySubsequences: false)
        guard gs2.count >= 2, gs2[0] == "n" || gs2[0] == "y" else { return nil }
        var user = ""
        if gs2[1].hasPrefix("a=") {
            // RFC 5801: "=2C" is ',' and "=3D" is '=' in the authzid.
            user = String(gs2[1].dropFirst(2)).replacingOccurrences(of: "=2C", with: ",").replacingOccurrences(of: "=3D", with: "=")
        } else if !gs2[1].isEmpty {
            return nil
        }
        guard text.hasSuffix("\u{01}\u{01}") else { return nil }
        return bearer(in: text[text.index(after: firstSep)...], user: user)
    }

    /// Parses an XOAUTH2 client message (decoded): `user=USER ^A auth=Bearer TOKEN ^A ^A`. nil when
    /// malformed.
    public static func parseXOAuth2(_ bytes: [UInt8]) -> Message? {
        let text = String(decoding: bytes, as: UTF8.self)
        var user = ""
        for field in text.split(separator: "\u{01}") where field.hasPrefix("user=") { user = String(field.dropFirst(5)) }
        guard let m = bearer(in: Substring(text), user: user), !user.isEmpty else { return nil }
        return m
    }

    static func bearer(in pairs: Substring, user: String) -> Message? {
        for field in pairs.split(separator: "\u{01}") {
            let lower = field.lowercased()
            if lower.hasPrefix("auth=bearer ") {
                let token = String(field.dropFirst(12)).trimmingSpaces
                return token.isEmpty ? nil : Message(user: user, token: token)
            }
        }
        return nil
    }

    /// The base64 error challenge sent after a refused token (RFC 7628 3.2.2):
    /// `{"status":"invalid_token","schemes":"bearer"}` plus `scope` when configured. The client
    /// answers with `^A` (OAUTHBEARER, `AQ==`) or an empty line (XOAUTH2), then gets `535 5.7.8`.
    public static func errorChallenge(status: String = "invalid_token", scope: String? = nil) -> String {
        var json = #"{"status":"\#(escape(status))","schemes":"bearer""#
        if let scope { json += #","scope":"\#(escape(scope))""# }
        json += "}"
        return SMTPBase64.encode(Array(json.utf8))
    }

    static func escape(_ s: String) -> String {
        s.unicodeScalars.filter { $0.value >= 0x20 && $0 != "\"" && $0 != "\\" }.map(String.init).joined()
    }
}
