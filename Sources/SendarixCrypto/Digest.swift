import COpenSSL

/// Hashes and MACs through OpenSSL. Pure functions of their input; any thread; never block.
public enum Digest {
    /// SHA-256 of `data`.
    public static func sha256<D: Collection>(_ data: D) -> [UInt8] where D.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        let ok: Int32 = withContiguous(data) { p in
            out.withUnsafeMutableBufferPointer { o in EVP_Digest(p.baseAddress, p.count, o.baseAddress, &len, EVP_sha256(), nil) }
        }
        precondition(ok == 1 && len == 32, "EVP_Digest(SHA-256) failed")
        return out
    }

    /// HMAC-SHA256 of `data` under `key`.
    public static func hmacSHA256<K: Collection, D: Collection>(key: K, _ data: D) -> [UInt8]
        where K.Element == UInt8, D.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        withContiguous(key) { k in
            withContiguous(data) { d in
                out.withUnsafeMutableBufferPointer { o in
                    _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, o.baseAddress, &len)
                }
            }
        }
        precondition(len == 32, "HMAC-SHA256 failed")
        return out
    }

    /// `count` cryptographically random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        precondition(ok == 1, "RAND_bytes failed")
        return out
    }

    static func withContiguous<D: Collection, R>(_ data: D, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R
        where D.Element == UInt8 {
        if let r = data.withContiguousStorageIfAvailable(body) { return r }
        return Array(data).withUnsafeBufferPointer(body)
    }
}
