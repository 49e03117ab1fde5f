import COpenSSL
import Foundation

/// PBKDF2-HMAC-SHA256 password hashing through OpenSSL (`PKCS5_PBKDF2_HMAC`).
///
/// Stored format: `$pbkdf2-sha256$i=<iterations>$<base64 salt>$<base64 hash>` (standard base64 with
/// padding, 16-byte random salt, 32-byte hash). `hash` and `verify` run the full key derivation and
/// therefore BLOCK the calling thread for the configured cost (about 60 ms of one core at 100,000
/// iterations on the development machine; see deploy/CONFIG.md): call them off event-loop threads.
/// Any thread may call them. Passwords are never logged or put into errors.
public enum PasswordHasher {
    /// Default PBKDF2 iteration count.
    public static let defaultIterations = 100_000
    /// Iteration counts accepted from stored hashes (bounds guard against a hostile config costing minutes).
    public static let iterationRange = 1_000...10_000_000
    static let prefix = "$pbkdf2-sha256$"

    /// A parsed stored hash.
    public struct Parsed: Sendable, Equatable {
        /// PBKDF2 iteration count.
        public var iterations: Int
        /// Salt bytes.
        public var salt: [UInt8]
        /// Derived key bytes.
        public var hash: [UInt8]
    }

    /// Hashes `password` with a fresh random salt. Blocks for the PBKDF2 cost. Throws `.crypto` on
    /// OpenSSL failure.
    public static func hash(_ password: String, iterations: Int = defaultIterations) throws -> String {
        let salt = try SecureRandom.bytes(16)
        let dk = try derive(password: password, salt: salt, iterations: iterations, length: 32)
        return "\(prefix)i=\(iterations)$\(Data(salt).base64EncodedString())$\(Data(dk).base64EncodedString())"
    }

    /// True if `password` matches `stored`. Compares in constant time (`CRYPTO_memcmp`). Returns false
    /// for malformed hashes. Blocks for the PBKDF2 cost.
    public static func verify(_ password: String, against stored: String) -> Bool {
        guard let p = parse(stored),
              let dk = try? derive(password: password, salt: p.salt, iterations: p.iterations,
                                   length: p.hash.count) else { return false }
        return constantTimeEqual(dk, p.hash)
    }

    /// Parses a stored hash, or nil when it is not in the format above (or the iteration count is out
    /// of `iterationRange`, or salt/hash are too short). Does not block.
    public static func parse(_ stored: String) -> Parsed? {
        guard stored.hasPrefix(prefix) else { return nil }
        let parts = stored.dropFirst(prefix.count).split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].hasPrefix("i="),
              let iterations = Int(parts[0].dropFirst(2)), iterationRange.contains(iterations),
              let salt = Data(base64Encoded: String(parts[1])), salt.count >= 8,
              let hash = Data(base64Encoded: String(parts[2])), hash.count >= 16, hash.count <= 64
        else { return nil }
        return Parsed(iterations: iterations, salt: Array(salt), hash: Array(hash))
    }

    /// Compares two byte arrays in time independent of their contents (length differences return
    /// false immediately; lengths are not secret here).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in
            CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0
        } }
    }

    static func derive(password: String, salt: [UInt8], iterations: Int, length: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        // NUL-terminated copy so the buffer is never empty (empty passwords are legal input).
        let pw = Array(password.utf8CString)
        let saltCopy = salt.isEmpty ? [0] : salt
        let rc = pw.withUnsafeBufferPointer { pwp in
            saltCopy.withUnsafeBufferPointer { sp in
                out.withUnsafeMutableBufferPointer { op in
                    PKCS5_PBKDF2_HMAC(pwp.baseAddress, Int32(pw.count - 1), sp.baseAddress, Int32(salt.count),
                                      Int32(iterations), EVP_sha256(), Int32(length), op.baseAddress)
                }
            }
        }
        guard rc == 1 else { throw RelayConfigError(.crypto, "PKCS5_PBKDF2_HMAC failed") }
        return out
    }
}
