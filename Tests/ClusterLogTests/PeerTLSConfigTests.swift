@testable import ClusterLog
import Foundation
import RelayConfig
import Testing

@Suite("cluster.tls in the relay config")
struct PeerTLSConfigTests {
    static func config(_ tls: String, in dir: String) -> Data {
        Data("""
        {"node": {"id": "n1", "dataDir": "data"}, "listen": {"peer": "127.0.0.1:7700"},
         "cluster": {"secretFile": "secret", "peers": [{"id": "n2", "address": "127.0.0.2:7700"}]\(tls)}}
        """.utf8)
    }

    @Test("cluster.tls paths resolve against the config directory and become the transport's TLS files")
    func fromConfig() throws {
        let pki = try TestPKI()
        try pki.issue("n1")
        try "s3cret".write(toFile: pki.dir + "/secret", atomically: true, encoding: .utf8)
        let c = try RelayConfig.parse(data: Self.config(
            #", "tls": {"certificate": "n1.pem", "privateKey": "n1.key", "caFile": "ca.pem"}"#, in: pki.dir),
            baseDirectory: pki.dir)
        #expect(c.cluster.tls == RelayConfig.ClusterTLS(certificate: pki.dir + "/n1.pem", privateKey: pki.dir + "/n1.key",
                                                        caFile: pki.dir + "/ca.pem"))
        let o = try RaftLog.Options(config: c)
        #expect(o.tls == PeerTransport.TLSFiles(certificate: pki.dir + "/n1.pem", privateKey: pki.dir + "/n1.key",
                                                caFile: pki.dir + "/ca.pem"))
        // Without the section: no TLS (unchanged behaviour).
        let plain = try RelayConfig.parse(data: Self.config("", in: pki.dir), baseDirectory: pki.dir)
        #expect(plain.cluster.tls == nil)
        #expect(try RaftLog.Options(config: plain).tls == nil)
    }

    @Test("a cluster.tls section without caFile, with an unknown key or a missing file is an error")
    func invalid() throws {
        let pki = try TestPKI()
        try pki.issue("n1")
        try "s3cret".write(toFile: pki.dir + "/secret", atomically: true, encoding: .utf8)
        let cases = [
            (#", "tls": {"certificate": "n1.pem", "privateKey": "n1.key"}"#, "cluster.tls.caFile"),
            (#", "tls": {"certificate": "n1.pem", "privateKey": "n1.key", "caFile": "ca.pem", "x": 1}"#, "cluster.tls.x"),
            (#", "tls": {"certificate": "missing.pem", "privateKey": "n1.key", "caFile": "ca.pem"}"#, "cluster.tls.certificate"),
        ]
        for (tls, path) in cases {
            do {
                _ = try RelayConfig.parse(data: Self.config(tls, in: pki.dir), baseDirectory: pki.dir)
                Issue.record("accepted \(tls)")
            } catch let e as RelayConfigError {
                #expect(e.problems.contains { $0.path == path }, "\(path): \(e.problems)")
            }
        }
    }

    @Test("certificate names: CN, DNS or sendarix:node URI name a node; nothing else does")
    func names() {
        #expect(PeerTransport.certificate(["CN:n1"], names: "n1"))
        #expect(PeerTransport.certificate(["CN:x", "DNS:n1"], names: "n1"))
        #expect(PeerTransport.certificate(["URI:sendarix:node:n1"], names: "n1"))
        #expect(!PeerTransport.certificate(["CN:n12", "DNS:N1", "URI:sendarix:node:n1x", "URI:n1"], names: "n1"))
        #expect(!PeerTransport.certificate([], names: "n1"))
    }
}
