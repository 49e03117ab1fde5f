import COpenSSL
import Synchronization

/// An HMAC-SHA256 key set up once to sign many messages: the same codes as
/// `Digest.hmacSHA256(key:_:)`, without its per-call cost (OpenSSL 3's one-shot `HMAC()` fetches
/// the algorithm and hashes the key into the inner and outer pads on every call). The HMAC
/// implementation is fetched once per process; the keyed context once per key; each message
/// resets it to the keyed state and hashes only the message. Any thread (messages under one key
/// are signed one at a time); never blocks for long.
public final class HMACSHA256Key: @unchecked Sendable {
    // Safe: `context` is set once in init and then used (reset, updated, finalised) only while
    // `lock` is held, so no two threads ever touch it at once; it is freed in deinit, when no
    // other reference is left.
    /// OpenSSL's HMAC (`EVP_MAC_fetch(NULL, "HMAC", NULL)`), fetched on first use and never freed.
    // nonisolated(unsafe): set once by Swift's thread-safe lazy initialisation of globals, read only
    // afterwards; an EVP_MAC is reference-counted and immutable, usable from any thread.
    nonisolated(unsafe) private static let mac: OpaquePointer? = sx_hmac_fetch()

    /// The keyed `EVP_MAC_CTX`, used only while `lock` is held.
    private let context: OpaquePointer
    private let lock = Mutex(())

    /// A key of any length (longer than 64 bytes is hashed first, as HMAC defines).
    public init<K: Collection>(key: K) where K.Element == UInt8 {
        guard let mac = Self.mac else { preconditionFailure("EVP_MAC_fetch(HMAC) failed") }
        let ctx = Digest.withContiguous(key) { k in sx_hmac_sha256_new(mac, k.baseAddress, k.count) }
        guard let ctx else { preconditionFailure("HMAC-SHA256 key setup failed") }
        context = ctx
    }

    deinit {
        EVP_MAC_CTX_free(context)
    }

    /// HMAC-SHA256 of `data` under this key.
    public func authenticationCode<D: Collection>(_ data: D) -> [UInt8] where D.Element == UInt8 {
        authenticationCode(EmptyCollection<UInt8>(), data)
    }

    /// HMAC-SHA256 of `prefix` followed by `data` under this key, without joining them.
    public func authenticationCode<P: Collection, D: Collection>(_ prefix: P, _ data: D) -> [UInt8]
        where P.Element == UInt8, D.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        var len = 0
        let ctx = context
        let ok: Bool = lock.withLock { _ in
            // A NULL key resets the context to its keyed state (the pads are kept, not recomputed).
            guard EVP_MAC_init(ctx, nil, 0, nil) == 1 else { return false }
            let updated = Digest.withContiguous(prefix) { p in p.isEmpty || EVP_MAC_update(ctx, p.baseAddress, p.count) == 1 }
                && Digest.withContiguous(data) { d in d.isEmpty || EVP_MAC_update(ctx, d.baseAddress, d.count) == 1 }
            return updated && out.withUnsafeMutableBufferPointer { o in EVP_MAC_final(ctx, o.baseAddress, &len, 32) } == 1
        }
        precondition(ok && len == 32, "HMAC-SHA256 failed")
        return out
    }
}
