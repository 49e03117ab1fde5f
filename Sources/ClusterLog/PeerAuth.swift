import COpenSSL

/// The peer handshake: HMAC-SHA256 challenge-response over the cluster secret, both directions.
///
/// 1. The server, on accept, writes `SENDARIX <server-id> ok\n` (the health line, so a plain
///    health probe gets its answer and closes) followed by a 32-byte random nonce `Ns`.
/// 2. The client checks the server id and replies with a `.hello` frame:
///    `u8 len | client-id | Nc (32) | u8 lane | HMAC(secret, "SXC1" Ns Nc client-id lane)`.
/// 3. The server checks the MAC and that the client id is a member, then writes
///    `HMAC(secret, "SXS1" Nc Ns server-id)` (32 bytes), which the client checks. Frames follow.
///
/// With `cluster.tls` (`PeerTransport.enableTLS`) steps 1's nonce, 2 and 3 and every frame after
/// them run inside mutual TLS 1.3 (only the health line is in clear), and the server also checks that
/// the client's certificate names the id in the hello; the secret stays a second, independent check.
/// Without TLS, frames after the handshake are not individually authenticated (the secret proves
/// membership on connect only) and travel in clear. Pure functions; any thread.
public enum PeerAuth {
    /// Nonce and MAC length.
    public static let size = 32

    /// 32 random bytes from OpenSSL's CSPRNG. Any thread.
    public static func nonce() -> [UInt8] {
        var n = [UInt8](repeating: 0, count: size)
        _ = n.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(size)) }
        return n
    }

    /// HMAC-SHA256 of the concatenated `parts` under `key`. Any thread.
    public static func mac(_ key: [UInt8], _ parts: [UInt8]...) -> [UInt8] {
        var data = [UInt8]()
        for p in parts { data.append(contentsOf: p) }
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                out.withUnsafeMutableBufferPointer { o in
                    _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, o.baseAddress, &len)
                }
            }
        }
        return Array(out[0..<Int(len)])
    }

    /// Constant-time equality. Any thread.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }

    /// The client's MAC over the server nonce, its own nonce, its id and the lane.
    public static func clientMAC(secret: [UInt8], serverNonce: [UInt8], clientNonce: [UInt8], clientID: String,
                                 lane: UInt8) -> [UInt8] {
        mac(secret, Array("SXC1".utf8), serverNonce, clientNonce, Array(clientID.utf8), [lane])
    }

    /// The server's MAC proving it also knows the secret.
    public static func serverMAC(secret: [UInt8], serverNonce: [UInt8], clientNonce: [UInt8], serverID: String) -> [UInt8] {
        mac(secret, Array("SXS1".utf8), clientNonce, serverNonce, Array(serverID.utf8))
    }

    /// Builds the `.hello` payload. Any thread.
    public static func hello(secret: [UInt8], serverNonce: [UInt8], clientNonce: [UInt8], clientID: String,
                             lane: UInt8) -> [UInt8] {
        var p = [UInt8]()
        let id = Array(clientID.utf8)
        p.append(UInt8(id.count))
        p += id
        p += clientNonce
        p.append(lane)
        p += clientMAC(secret: secret, serverNonce: serverNonce, clientNonce: clientNonce, clientID: clientID, lane: lane)
        return p
    }

    /// Parses and verifies a `.hello` payload; returns the client id, its nonce and the lane.
    /// Throws `.authentication` on a malformed hello or a wrong MAC. Any thread.
    public static func verifyHello(_ p: [UInt8], secret: [UInt8],
                                   serverNonce: [UInt8]) throws(ClusterError) -> (id: String, nonce: [UInt8], lane: UInt8) {
        guard let n = p.first, p.count == 1 + Int(n) + size + 1 + size, n > 0 else {
            throw ClusterError(.authentication, "malformed hello")
        }
        let id = String(decoding: p[1..<(1 + Int(n))], as: UTF8.self)
        let nonce = Array(p[(1 + Int(n))..<(1 + Int(n) + size)])
        let lane = p[1 + Int(n) + size]
        let got = Array(p[(2 + Int(n) + size)...])
        let want = clientMAC(secret: secret, serverNonce: serverNonce, clientNonce: nonce, clientID: id, lane: lane)
        guard equal(got, want) else { throw ClusterError(.authentication, "bad cluster secret", context: id) }
        return (id, nonce, lane)
    }
}
