import COpenSSL

/// Cryptographically secure random bytes and tokens from OpenSSL's `RAND_bytes`.
///
/// Does not block in practice (OpenSSL's DRBG is seeded at startup). Any thread may call it. This is a
/// shell helper; pure cores take a seeded generator instead.
public enum SecureRandom {
    /// `count` random bytes. Throws `RelayConfigError(.crypto)` if OpenSSL's generator fails.
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        let rc = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard rc == 1 else { throw RelayConfigError(.crypto, "RAND_bytes failed") }
        return out
    }

    /// A random token of `length` characters from an unambiguous alphabet (no 0/O, 1/l/I), suitable
    /// for passwords and bearer tokens; 20 characters carry about 113 bits.
    public static func token(length: Int = 24) throws -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789".utf8)
        var chars: [UInt8] = []
        chars.reserveCapacity(length)
        // Rejection sampling keeps the distribution uniform.
        let limit = UInt8(256 - 256 % alphabet.count)
        while chars.count < length {
            for b in try bytes(length * 2) where b < limit && chars.count < length {
                chars.append(alphabet[Int(b) % alphabet.count])
            }
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
