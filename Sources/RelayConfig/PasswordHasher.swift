import COpenSSL
import Foundation

/// PBKDF2-HMAC-SHA256 password hashing through OpenSSL (`PKCS5_PBKDF2_HMAC`).
///
/// Stored format: `$pbkdf2-sha256$i=<iterations>$<base64 salt>$<base64 hash>` (standard base64 with
/// padding, 16-byte random salt, 32-byte hash). New hashes use 600,000 iterations (OWASP 2023 for
/// PBKDF2-HMAC-SHA256); stored hashes below 100,000 are refused. `hash` and `verify` run the full
/// key derivation and therefore BLOCK the calling thread for the configured cost (about 0.33 s of one
/// core at 600,000 iterations on the development machine; see deploy/CONFIG.md): call them off
/// event-loop threads.
///
/// A password written in plain text in the config file is not run through PBKDF2 at load (hundreds
/// of users would cost minutes of startup, and the plain text is on disk anyway): it is kept as a
/// memory-only `memoryHash`, an HMAC-SHA256 under a random key of this process, which `verify`
/// accepts and `parse` (so a config file) does not.
/// Any thread may call them. Passwords are never logged or put into errors.
public enum PasswordHasher {
    /// Default PBKDF2 iteration count for new hashes.
    public static let defaultIterations = 600_000
    /// Iteration counts accepted from stored hashes: at least 100,000, and a bound that guards
    /// against a hostile config costing minutes.
    public static let iterationRange = 100_000...10_000_000
    static let prefix = "$pbkdf2-sha256$"
    static let memoryPrefix = "$hmac-sha256-process$"
    /// The key of `memoryHash`, random per process.
    static let processKey: [UInt8]? = try? SecureRandom.bytes(32)

    /// The memory-only form of a plain-text config password: `$hmac-sha256-process$<base64 HMAC>`
    /// under a random key of this process (valid only in this process; never written anywhere).
    /// Takes microseconds. Throws `.crypto` when the random key could not be made.
    public static func memoryHash(_ password: String) throws -> String {
        guard let key = processKey else { throw RelayConfigError(.crypto, "no random key for password hashing") }
        return memoryPrefix + Data(hmac(key: key, password)).base64EncodedString()
    }

    /// The iteration count a `$pbkdf2-sha256$i=N$…` string declares, in range or not (for error
    /// messages); nil when it declares none. Does not block.
    public static func declaredIterations(_ stored: String) -> Int? {
        guard stored.hasPrefix(prefix) else { return nil }
        let field = stored.dropFirst(prefix.count).prefix { $0 != "$" }
        guard field.hasPrefix("i=") else { return nil }
        return Int(field.dropFirst(2))
    }

    /// True when `stored` is a `memoryHash`.
    public static func isMemoryHash(_ stored: String) -> Bool { stored.hasPrefix(memoryPrefix) }

    /// True when `stored` is a PBKDF2 hash weaker than `iterations` (by default what `hash` makes
    /// now): after a successful login it is worth replacing. Does not block.
    public static func needsRehash(_ stored: String, iterations: Int = defaultIterations) -> Bool {
        guard let p = parse(stored) else { return false }
        return p.iterations < iterations
    }

    /// Runs one key derivation of `iterations` and throws the result away, so that a login that
    /// fails early costs as long as one that checks a hash. Blocks for the PBKDF2 cost.
    public static func burn(_ password: String, iterations: Int = defaultIterations) {
        _ = try? derive(password: password, salt: Array("sendarix-timing".utf8), iterations: iterations, length: 32)
    }

    static func hmac(key: [UInt8], _ password: String) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var outLen: UInt32 = 32
        let pw = Array(password.utf8)
        _ = key.withUnsafeBufferPointer { k in
            pw.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), p.baseAddress, p.count, o.baseAddress, &outLen)
                }
            }
        }
        return out
    }

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

    /// True if `password` matches `stored` (a PBKDF2 hash or a `memoryHash`). Compares in constant
    /// time (`CRYPTO_memcmp`). Returns false for malformed hashes. Blocks for the PBKDF2 cost.
    public static func verify(_ password: String, against stored: String) -> Bool {
        if isMemoryHash(stored) {
            guard let key = processKey,
                  let mac = Data(base64Encoded: String(stored.dropFirst(memoryPrefix.count))) else { return false }
            return constantTimeEqual(hmac(key: key, password), Array(mac))
        }
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
