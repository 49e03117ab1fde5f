import Foundation

/// Base64url without padding (RFC 4648 5, as JOSE uses it).
public enum Base64URL {
    /// The bytes of `text`, or nil when it is not base64url (padding is tolerated).
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var s = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if s.contains("=") { s = String(s.prefix { $0 != "=" }) }
        guard s.utf8.allSatisfy({ $0 != 0x0D && $0 != 0x0A && $0 != 0x20 }) else { return nil }
        s += String(repeating: "=", count: (4 - s.utf8.count % 4) % 4)
        return Data(base64Encoded: s).map(Array.init)
    }

    /// `bytes` as base64url without padding.
    public static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
