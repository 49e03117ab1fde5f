import SendarixSupport

/// Strict RFC 4648 base64 for SASL exchanges (RFC 4954): no whitespace, padding required;
/// forwards to `SendarixSupport.Base64Codec`. Pure; does not block; any caller may use it.
public enum SMTPBase64 {
    /// Decodes base64 text; nil when it is not valid padded base64.
    public static func decode<Bytes: Collection<UInt8>>(_ text: Bytes) -> [UInt8]? {
        Base64Codec.decodeStrict(text)
    }

    /// Encodes bytes as padded base64 text.
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        String(decoding: Base64Codec.encode(bytes), as: UTF8.self)
    }
}
