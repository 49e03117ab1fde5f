import SendarixSupport

/// Standard base64 (RFC 4648, with padding) for SMTP AUTH exchanges; forwards to
/// `SendarixSupport.Base64Codec`.
///
/// Pure; any thread may call it.
public enum Base64 {
    /// Encodes `bytes`. Pure; any caller.
    public static func encode(_ bytes: [UInt8]) -> [UInt8] {
        Base64Codec.encode(bytes)
    }

    /// Decodes `text`, ignoring whitespace; nil when it is not valid base64. Pure; any caller.
    public static func decode(_ text: [UInt8]) -> [UInt8]? {
        Base64Codec.decodeLenient(text)
    }
}
