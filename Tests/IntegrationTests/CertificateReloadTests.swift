import Foundation
import Testing

/// Certificates come from files and SIGHUP (`systemctl reload`) reads them again. Runs on 127.62.4.1.
@Suite("TLS certificate reload")
struct CertificateReloadTests {
    /// One Python peer: session A (implicit TLS on 465) is opened and used, SIGHUP is sent to the
    /// node, new sessions are opened until one shows the new certificate, then session A carries on.
    static let probe = """
    import json, os, signal, smtplib, ssl, subprocess, sys, time
    host, port, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    def subject(sock):
        der = sock.getpeercert(binary_form=True)
        return subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der,
                              capture_output=True).stdout.decode().strip()
    def fresh():
        s = smtplib.SMTP_SSL(host, port, context=ctx, timeout=10)
        try:
            return subject(s.sock), s.ehlo("new.test")[0]
        finally:
            s.close()
    out = {}
    a = smtplib.SMTP_SSL(host, port, context=ctx, timeout=10)
    out["a_before"] = subject(a.sock)
    out["a_ehlo_before"] = a.ehlo("a.test")[0]
    os.rename(sys.argv[4] + ".next", sys.argv[4])          # the renewed certificate is in place
    os.rename(sys.argv[5] + ".next", sys.argv[5])
    os.kill(pid, signal.SIGHUP)
    for _ in range(100):
        out["new"], out["new_ehlo"] = fresh()
        if "second.test" in out["new"]:
            break
        time.sleep(0.1)
    out["a_after"] = subject(a.sock)
    out["a_noop_after"] = a.noop()[0]
    out["a_quit"] = a.quit()[0]
    print(json.dumps(out))
    """

    @Test("after the certificate files are replaced and SIGHUP sent, new TLS sessions get the new certificate while an open session carries on with the old one")
    func reloadKeepsOpenSessions() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-certr-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func makeCert(_ cn: String, suffix: String) throws {
            let r = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(cn)",
                                                 "-keyout", dir + "/key.pem" + suffix, "-out", dir + "/cert.pem" + suffix])
            #expect(r.status == 0, "\(r.stderr)")
        }
        try makeCert("first.test", suffix: "")
        try makeCert("second.test", suffix: ".next")
        let relay = try RelayProcess(overlay: [
            "tls": ["certificate": dir + "/cert.pem", "privateKey": dir + "/key.pem"],
            "listen": ["submission": ["127.62.4.1:0"], "smtps": ["127.62.4.1:0"], "relay": ["127.62.4.1:0"], "admin": "127.62.4.1:0"],
        ])
        defer { relay.cleanUp() }
        let out = try python(Self.probe, ["127.62.4.1", String(relay.port("smtps")), String(relay.process.pid),
                                          dir + "/cert.pem", dir + "/key.pem"])
        let text = String(decoding: out.stdout, as: UTF8.self)
        let r = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text) \(out.stderr)")
        #expect((r["a_before"] as? String)?.contains("first.test") == true, "\(r)")
        #expect((r["new"] as? String)?.contains("second.test") == true, "\(r)")
        #expect(r["new_ehlo"] as? Int == 250)
        // The session opened before the reload keeps its certificate and keeps working.
        #expect((r["a_after"] as? String)?.contains("first.test") == true, "\(r)")
        #expect(r["a_noop_after"] as? Int == 250)
        #expect(r["a_quit"] as? Int == 221)
        #expect(relay.process.isRunning)
        #expect(PolicyTests.waitForLog(relay, "tls reloaded"))
    }
}
