import Foundation
import Testing
import TestSupport

/// Three real `sendarix serve` processes on 127.0.23.1-3 (peer port 7700) whose peer links run
/// mutual TLS (`cluster.tls`) with certificates from a CA made by /usr/bin/openssl as in
/// deploy/CLUSTER-TLS.md.
@Suite("Cluster peer links over mutual TLS", .serialized)
struct ClusterTLSTests {
    static let ips = ["127.0.23.1", "127.0.23.2", "127.0.23.3"]

    /// Makes `ca.pem` and `n1`…`n3` certificates/keys in `dir` with the documented commands.
    static func makePKI(_ dir: String) throws {
        func openssl(_ args: [String]) throws {
            let r = try run("/usr/bin/openssl", args)
            guard r.status == 0 else { throw HarnessError("openssl \(args.first!): \(r.stderr)") }
        }
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.pem", "-days", "2", "-subj", "/CN=it cluster CA",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        for id in ["n1", "n2", "n3"] {
            try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                         "-keyout", "\(dir)/\(id).key", "-out", "\(dir)/\(id).csr", "-subj", "/CN=\(id)"])
            try ("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                 + "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:sendarix:node:\(id),DNS:\(id)\n")
                .write(toFile: "\(dir)/\(id).ext", atomically: true, encoding: .utf8)
            try openssl(["x509", "-req", "-in", "\(dir)/\(id).csr", "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key",
                         "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "2",
                         "-extfile", "\(dir)/\(id).ext", "-out", "\(dir)/\(id).pem"])
        }
    }

    /// Starts three nodes; node i presents the certificate of `wears[i]`.
    static func start(_ dir: String, wears: [String] = ["n1", "n2", "n3"]) throws -> [RelayProcess] {
        let secret = dir + "/cluster.key"
        try "tls-integration-secret-\(UUID().uuidString)".write(toFile: secret, atomically: true, encoding: .utf8)
        var nodes: [RelayProcess] = []
        for i in 0..<3 {
            let peers = (0..<3).filter { $0 != i }.map { j -> [String: Any] in
                ["id": "n\(j + 1)", "address": "\(ips[j]):7700"]
            }
            let cert = wears[i]
            nodes.append(try RelayProcess(overlay: [
                "node": ["id": "n\(i + 1)"],
                "listen": ["peer": "\(ips[i]):7700", "submission": ["\(ips[i]):0"], "smtps": [], "relay": []],
                "cluster": ["peers": peers, "secretFile": secret,
                            "tls": ["certificate": "\(dir)/\(cert).pem", "privateKey": "\(dir)/\(cert).key",
                                    "caFile": "\(dir)/ca.pem"]],
            ]))
        }
        return nodes
    }

    static let submit = #"""
    import smtplib, ssl, sys
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(sys.argv[1], int(sys.argv[2]), timeout=30); s.ehlo("client.test"); s.starttls(context=ctx)
    s.ehlo("client.test"); s.login("alice", "s3cret-pass"); s.mail("sender@example.com"); s.rcpt("rcpt@local.test")
    code, resp = s.data("Subject: tls\r\n\r\n" + sys.argv[3] + "\r\n")
    print(code, resp.decode().split()[-1]); s.quit()
    """#

    @Test("mail accepted on a follower is committed on every node over mutual-TLS peer links")
    func replicatesOverTLS() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-tls-it-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.makePKI(dir)
        let nodes = try Self.start(dir)
        defer {
            for n in nodes { n.cleanUp() }
            try? FileManager.default.removeItem(atPath: dir)
        }
        #expect(ClusterRaftTests.waitFor(30) { ClusterRaftTests.leader(nodes) != nil },
                "no leader: \(nodes.map { $0.log().suffix(800) })")
        let leader = try #require(ClusterRaftTests.leader(nodes))
        let follower = nodes[(leader + 1) % 3]
        let a = follower.address("submission")
        let r = try python(Self.submit, [a.0, "\(a.1)", "MARKER-\(UUID().uuidString)"])
        let out = String(decoding: r.stdout, as: UTF8.self).split(separator: " ")
        #expect(r.status == 0 && out.first == "250", "\(r.stderr)")
        let queueID = String(out.last ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        for n in nodes {
            #expect(ClusterRaftTests.waitFor(20) { (try? n.admin("/v1/queue/" + queueID).0) == 200 },
                    "\(queueID) missing on a node")
        }
        // Health probes (one a second per peer) read the clear-text line and hang up mid-handshake:
        // that is not worth a warning; nothing else may have been refused either.
        for n in nodes {
            #expect(!n.log().contains("peer connection refused") && !n.log().contains("peer TLS handshake failed"),
                    "\(n.log().suffix(2000))")
        }
    }

    @Test("a node wearing another member's certificate is refused and logged; the other two still form a quorum")
    func impostorRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-tls-it-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.makePKI(dir)
        // n3 presents n2's certificate (valid chain, wrong name).
        let nodes = try Self.start(dir, wears: ["n1", "n2", "n2"])
        defer {
            for n in nodes { n.cleanUp() }
            try? FileManager.default.removeItem(atPath: dir)
        }
        #expect(ClusterRaftTests.waitFor(30) { (ClusterRaftTests.leader(nodes) ?? 2) < 2 },
                "no leader among n1, n2: \(nodes.map { $0.log().suffix(800) })")
        #expect(ClusterRaftTests.waitFor(20) {
            nodes[0].log().contains("does not name the node it claims") && nodes[0].log().contains("claimed n3")
        }, "\(nodes[0].log().suffix(2000))")
        // A node dialling the impostor sees a certificate that does not name n3 (the leader among
        // n1 and n2 dials it to replicate; which one leads is up to the election).
        #expect(ClusterRaftTests.waitFor(30) {
            nodes[0].log().contains("does not name the node dialled") || nodes[1].log().contains("does not name the node dialled")
        }, "\(nodes[0].log().suffix(1500)) \(nodes[1].log().suffix(1500))")
    }
}
