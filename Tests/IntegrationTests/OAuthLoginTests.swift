import Foundation
import Testing
import TestSupport

/// AUTH XOAUTH2 and OAUTHBEARER against a real node: JWTs made by python3-cryptography (RS256,
/// ES256, EdDSA) verified against the configured JWKS file; expired, wrong-audience and badly
/// signed tokens get the RFC 7628 error challenge then 535 5.7.8; the JWKS file is re-read when it
/// changes. Also per-message tenant routing by a platform credential.
@Suite("Bearer-token logins and platform tenant routing", .serialized)
struct OAuthLoginTests {
    /// argv: directory. Writes jwks.json (three keys) and jwks2.json (one other key), prints JSON
    /// tokens: valid RS256/ES256/EdDSA, expired, wrong audience, bad signature, suspended
    /// credential, and one signed by the key of jwks2.json.
    static let tokens = #"""
    import base64, json, sys, time
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
    d = sys.argv[1]
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    i2b = lambda i, n=None: i.to_bytes(n or (i.bit_length() + 7) // 8, "big")
    ek = ec.generate_private_key(ec.SECP256R1()); rk = rsa.generate_private_key(65537, 2048)
    dk = ed25519.Ed25519PrivateKey.generate(); other = ed25519.Ed25519PrivateKey.generate()
    raw = lambda k: k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pn, rn = ek.public_key().public_numbers(), rk.public_key().public_numbers()
    json.dump({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "ec1", "x": b64(i2b(pn.x, 32)), "y": b64(i2b(pn.y, 32))},
        {"kty": "RSA", "kid": "rsa1", "alg": "RS256", "n": b64(i2b(rn.n)), "e": b64(i2b(rn.e))},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed1", "x": b64(raw(dk))}]}, open(d + "/jwks.json", "w"))
    json.dump({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "ed2", "x": b64(raw(other))}]}, open(d + "/jwks2.json", "w"))
    now = int(time.time())
    def tok(alg, kid, key, **over):
        claims = {"iss": "https://idp.test", "aud": "sendarix", "sub": "svc", "tenant": "acme", "credential": "app1",
                  "iat": now, "nbf": now - 10, "exp": now + 600}
        claims.update(over)
        h = b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode()); p = b64(json.dumps(claims).encode())
        si = (h + "." + p).encode()
        if alg == "ES256":
            r, s = decode_dss_signature(key.sign(si, ec.ECDSA(hashes.SHA256()))); sig = i2b(r, 32) + i2b(s, 32)
        elif alg == "RS256": sig = key.sign(si, padding.PKCS1v15(), hashes.SHA256())
        else: sig = key.sign(si)
        return h + "." + p + "." + b64(sig)
    good = tok("EdDSA", "ed1", dk)
    bad = good[:-6] + ("A" if good[-6] != "A" else "B") + good[-5:]
    print(json.dumps({"rs256": tok("RS256", "rsa1", rk), "es256": tok("ES256", "ec1", ek), "eddsa": good,
        "expired": tok("EdDSA", "ed1", dk, exp=now - 3600, nbf=now - 7200), "audience": tok("ES256", "ec1", ek, aud="other"),
        "badsig": bad, "suspended": tok("RS256", "rsa1", rk, credential="app2"), "network": tok("EdDSA", "ed1", dk, credential="app3"), "rotated": tok("EdDSA", "ed2", other)}))
    """#

    /// A raw exchange: EHLO in clear (AUTH must not be offered), STARTTLS, AUTH OAUTHBEARER with
    /// argv[3], then AQ== after the challenge. Prints the lines.
    static let raw = #"""
    import base64, socket, ssl, sys
    host, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.create_connection((host, port), timeout=30); f = s.makefile("rb")
    def reply():
        lines = []
        while True:
            l = f.readline().decode().rstrip("\r\n"); lines.append(l)
            if l[3:4] != "-": return lines
    def send(line): s.sendall((line + "\r\n").encode())
    out = []
    reply(); send("EHLO raw.test"); out.append("clear:" + ("AUTH" if any("AUTH" in l for l in reply()) else "none"))
    send("STARTTLS"); reply()
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s); f = s.makefile("rb")
    send("EHLO raw.test"); out.append("tls:" + [l for l in reply() if "AUTH" in l][0][4:])
    msg = base64.b64encode(("n,,\x01auth=Bearer " + token + "\x01\x01").encode()).decode()
    send("AUTH OAUTHBEARER " + msg); first = reply()[0]; out.append(first)
    if first.startswith("334 "): out.append("json:" + base64.b64decode(first[4:]).decode())
    send("AQ=="); out.append(reply()[0])
    print("\n".join(out))
    """#

    @Test("valid RS256, ES256 and EdDSA tokens log in with XOAUTH2 and OAUTHBEARER; expired, wrong-audience, badly signed and suspended ones get the error challenge then 535; a changed JWKS file holds without a reload")
    func bearer() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-oauth-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let made = try python(Self.tokens, [dir])
        let t = try #require(try JSONSerialization.jsonObject(with: made.stdout) as? [String: String], "\(made.stderr)")
        let relay = try RelayProcess(overlay: [
            "node": ["id": "oauth1"],
            "listen": ["submission": ["127.54.1.1:0"], "smtps": [], "relay": []],
            "policy": ["maxAuthFailuresPerIP": 1000],
            "oauth": ["jwksFile": dir + "/jwks.json", "issuer": "https://idp.test", "audience": "sendarix",
                      "clockSkewSeconds": 30, "scope": "smtp"],
        ])
        defer { relay.cleanUp() }
        #expect(try ManagedCredentialTests.request(relay, "POST", "/v1/tenants", ["name": "acme"]).0 == 201)
        #expect(try ManagedCredentialTests.request(relay, "POST", "/v1/tenants/acme/credentials", ["username": "app1"]).0 == 201)
        #expect(try ManagedCredentialTests.request(relay, "POST", "/v1/tenants/acme/credentials", ["username": "app2"]).0 == 201)
        #expect(try ManagedCredentialTests.request(relay, "POST", "/v1/tenants/acme/credentials/app2/suspend", ["reason": "token leaked"]).0 == 200)
        #expect(try ManagedCredentialTests.request(relay, "POST", "/v1/tenants/acme/credentials",
                                                   ["username": "app3", "allowedNetworks": ["10.0.0.0/8"]]).0 == 201)

        for mechanism in ["XOAUTH2", "OAUTHBEARER"] {
            for key in ["rs256", "es256", "eddsa"] {
                let r = try ManagedCredentialTests.login(relay, "app1@acme.test", t[key]!, mechanism: mechanism, from: "a@acme.test",
                                                  message: "From: a@acme.test\r\n\r\nhi\r\n")
                #expect(ManagedCredentialTests.code(r) == 235 && ManagedCredentialTests.code(r, "data") == 250, "\(mechanism) \(key): \(r)")
                #expect((r["mechanisms"] as? [String])?.contains(mechanism) == true)
            }
            for key in ["expired", "audience", "badsig"] {
                let r = try ManagedCredentialTests.login(relay, "app1@acme.test", t[key]!, mechanism: mechanism)
                #expect(ManagedCredentialTests.code(r) == 535 && ManagedCredentialTests.text(r).hasPrefix("5.7.8"), "\(mechanism) \(key): \(r)")
                let challenge = try #require(r["challenge"] as? String, "\(mechanism) \(key): \(r)")
                let json = try JSONSerialization.jsonObject(with: Data(challenge.utf8)) as? [String: String]
                #expect(json == ["status": "invalid_token", "schemes": "bearer", "scope": "smtp"])
            }
            let s = try ManagedCredentialTests.login(relay, "app2@acme.test", t["suspended"]!, mechanism: mechanism)
            #expect(ManagedCredentialTests.code(s) == 535 && ManagedCredentialTests.text(s).contains("suspended: token leaked"), "\(s)")
            // The credential's allowed networks hold for token logins too.
            #expect(ManagedCredentialTests.code(try ManagedCredentialTests.login(relay, "app3@acme.test", t["network"]!, mechanism: mechanism)) == 535)
        }
        // The events of the accepted messages are the token's tenant's.
        // Token logins record the credential's last use.
        #expect(ClusterRaftTests.waitFor(10) {
            (try? ManagedCredentialTests.request(relay, "GET", "/v1/tenants/acme/credentials/app1"))?.1["lastUsedAt"] is String
        })
        let accepted = try relay.events("type=accepted&limit=20")
        #expect(accepted.count == 6 && accepted.allSatisfy { $0["tenant"] as? String == "acme" })

        // A raw client: no AUTH in clear; the challenge, then 535 after AQ==.
        let (host, port) = relay.address("submission")
        let lines = String(decoding: try python(Self.raw, [host, String(port), t["expired"]!]).stdout, as: UTF8.self)
            .split(separator: "\n").map(String.init)
        #expect(lines.first == "clear:none")
        #expect(lines.count == 5 && lines[1].contains("XOAUTH2") && lines[1].contains("OAUTHBEARER"), "\(lines)")
        #expect(lines.count == 5 && lines[2].hasPrefix("334 ") && lines[3].contains("\"status\":\"invalid_token\""), "\(lines)")
        #expect(lines.last?.hasPrefix("535 5.7.8") == true, "\(lines)")

        // The JWKS file replaced: the new key's tokens log in, the old keys' no longer.
        try FileManager.default.removeItem(atPath: dir + "/jwks.json")
        try FileManager.default.copyItem(atPath: dir + "/jwks2.json", toPath: dir + "/jwks.json")
        #expect(ClusterRaftTests.waitFor(10) {
            ManagedCredentialTests.code((try? ManagedCredentialTests.login(relay, "x", t["rotated"]!, mechanism: "OAUTHBEARER")) ?? [:]) == 235
        })
        #expect(ManagedCredentialTests.code(try ManagedCredentialTests.login(relay, "x", t["eddsa"]!, mechanism: "OAUTHBEARER")) == 535)
    }

    @Test("a platform credential names each message's tenant by header (stripped) or sender subaddress; others cannot")
    func platformRouting() throws {
        let relay = try RelayProcess(overlay: [
            "node": ["id": "route1"],
            "listen": ["submission": ["127.54.1.2:0"], "smtps": [], "relay": []],
        ])
        defer { relay.cleanUp() }
        for tenant in ["platform", "beta", "gamma", "acme"] {
            #expect(try ManagedCredentialTests.request(relay, "POST", "/v1/tenants", ["name": tenant]).0 == 201)
        }
        let plat = try ManagedCredentialTests.request(relay, "POST", "/v1/tenants/platform/credentials", ["username": "plat", "platform": true])
        let platPassword = try #require(plat.1["password"] as? String)
        let app = try ManagedCredentialTests.request(relay, "POST", "/v1/tenants/acme/credentials", ["username": "app"])
        let appPassword = try #require(app.1["password"] as? String)

        func send(_ user: String, _ password: String, from: String, header: String?) throws -> (reply: [String: Any], tenant: String?, body: String) {
            // The header folded over two lines: both go.
            let message = (header.map { "X-Sendarix-Tenant:\r\n \($0)\r\n" } ?? "") + "From: a@platform.example\r\nSubject: t\r\n\r\nhi\r\n"
            let r = try ManagedCredentialTests.login(relay, user, password, from: from, message: message)
            guard ManagedCredentialTests.code(r, "data") == 250, let id = ManagedCredentialTests.text(r, "data").split(separator: " ").last else {
                return (r, nil, "")
            }
            let entry = try relay.adminJSON("/v1/queue/\(id)")
            let body = String(decoding: try relay.admin("/v1/queue/\(id)/body").1, as: UTF8.self)
            return (r, entry["tenant"] as? String, body)
        }
        let byHeader = try send("plat", platPassword, from: "bounces@platform.example", header: "beta")
        #expect(byHeader.tenant == "beta" && !byHeader.body.contains("X-Sendarix-Tenant") && byHeader.body.contains("Subject: t"), "\(byHeader)")
        #expect(!byHeader.body.contains(" beta\r\n") && byHeader.body.contains("\r\nFrom: a@platform.example\r\nSubject: t\r\n\r\nhi"), "\(byHeader.body)")
        let bySubaddress = try send("plat", platPassword, from: "bounces+gamma@platform.example", header: nil)
        #expect(bySubaddress.tenant == "gamma", "\(bySubaddress)")
        let own = try send("plat", platPassword, from: "bounces@platform.example", header: nil)
        #expect(own.tenant == "platform")
        let unknown = try send("plat", platPassword, from: "bounces@platform.example", header: "nobody")
        #expect(ManagedCredentialTests.code(unknown.reply, "data") == 550 && ManagedCredentialTests.text(unknown.reply, "data").contains("unknown tenant nobody"))
        let notPlatform = try send("app", appPassword, from: "a@platform.example", header: "beta")
        #expect(notPlatform.tenant == "acme" && !notPlatform.body.contains("X-Sendarix-Tenant"), "\(notPlatform)")
        // Events carry the routed tenant.
        let events = try relay.events("type=accepted&limit=20")
        #expect(Set(events.compactMap { $0["tenant"] as? String }) == ["beta", "gamma", "platform", "acme"])
    }
}
