import Foundation
import Testing
import TestSupport

/// The admin API's own protection: TLS on the admin listener, and a read-only token that can look
/// but not change anything.
@Suite("Admin API: TLS and read-only tokens")
struct AdminSecurityTests {
    static let readOnly = "read-only-token-\(UUID().uuidString.prefix(12))"

    static func curl(_ relay: RelayProcess, _ method: String, _ path: String, token: String?, tls: Bool,
                     body: String? = nil) throws -> (Int, String) {
        let (host, port) = relay.address("admin")
        var args = ["-s", "-k", "-o", "-", "-w", "\n%{http_code}", "-X", method, "--max-time", "10"]
        if let token { args += ["-H", "Authorization: Bearer \(token)"] }
        if let body { args += ["-H", "Content-Type: application/json", "--data-binary", body] }
        let out = try run("/usr/bin/curl", args + ["\(tls ? "https" : "http")://\(host):\(port)\(path)"])
        let text = String(decoding: out.stdout, as: UTF8.self)
        guard let nl = text.lastIndex(of: "\n") else { return (0, text) }
        return (Int(text[text.index(after: nl)...]) ?? 0, String(text[..<nl]))
    }

    @Test("adminTLS serves only HTTPS; the read-only token reads (200) and is refused every change (403); the operator token changes")
    func tlsAndRoles() throws {
        let relay = try RelayProcess(overlay: ["listen": ["adminTLS": true], "adminReadOnlyToken": Self.readOnly])
        defer { relay.cleanUp() }
        #expect(try Self.curl(relay, "GET", "/health", token: nil, tls: true).0 == 200)
        // Plain HTTP to the TLS listener gets no HTTP answer.
        #expect(try Self.curl(relay, "GET", "/health", token: nil, tls: false).0 != 200)

        for path in ["/v1/queue", "/v1/events?limit=5", "/v1/suppressions?tenant=acme", "/v1/domains", "/v1/tenants/acme"] {
            #expect(try Self.curl(relay, "GET", path, token: Self.readOnly, tls: true).0 == 200, "\(path)")
        }
        let changes: [(String, String, String?)] = [
            ("DELETE", "/v1/queue/NOSUCH", nil),
            ("POST", "/v1/queue/NOSUCH/retry", nil),
            ("POST", "/v1/suppressions", #"{"address": "x@y.test", "tenant": "acme"}"#),
            ("POST", "/v1/domains", #"{"domain": "ro.example.test", "tenant": "acme"}"#),
            ("PUT", "/v1/tenants/acme", #"{"senderPolicy": "enforce"}"#),
        ]
        for (method, path, body) in changes {
            let (status, text) = try Self.curl(relay, method, path, token: Self.readOnly, tls: true, body: body)
            #expect(status == 403, "\(method) \(path): \(status) \(text)")
        }
        // Nothing changed.
        let (_, suppressions) = try Self.curl(relay, "GET", "/v1/suppressions?tenant=acme", token: Self.readOnly, tls: true)
        #expect(!suppressions.contains("x@y.test"))
        #expect(try Self.curl(relay, "GET", "/v1/domains/ro.example.test", token: Self.readOnly, tls: true).0 == 404)
        // The operator token may.
        #expect(try Self.curl(relay, "POST", "/v1/suppressions", token: relay.adminToken, tls: true,
                              body: #"{"address": "x@y.test", "tenant": "acme"}"#).0 == 200)
        // No token, or a wrong one: 401.
        #expect(try Self.curl(relay, "GET", "/v1/queue", token: nil, tls: true).0 == 401)
        #expect(try Self.curl(relay, "GET", "/v1/queue", token: "wrong-token-0123456789", tls: true).0 == 401)
    }
}
