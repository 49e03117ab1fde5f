@testable import ClusterLog
import Foundation

/// A throw-away cluster CA and node certificates made with /usr/bin/openssl in a temp directory,
/// following deploy/CLUSTER-TLS.md (EC P-256 keys, node id in CN, DNS and `sendarix:node:` URI SANs).
final class TestPKI: @unchecked Sendable {
    // Safe: immutable after init except for files on disk written by `issue`, used by one test.
    let dir: String
    let name: String

    /// Creates the CA `name` in a new temp directory.
    init(name: String = "ca") throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-pki-\(UUID().uuidString)").path
        self.name = name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", "\(dir)/\(name).key", "-out", caFile, "-days", "2", "-subj", "/CN=sendarix test \(name)",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                         in: dir)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// The CA certificate.
    var caFile: String { "\(dir)/\(name).pem" }

    /// Issues a certificate naming node `id` (CN and SANs) signed by this CA; returns the files
    /// with `caFile` set to `trust` (default: this CA).
    @discardableResult
    func issue(_ id: String, trust: String? = nil) throws -> PeerTransport.TLSFiles {
        let base = "\(dir)/\(id)"
        try Self.openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", "\(base).key", "-out", "\(base).csr", "-subj", "/CN=\(id)"], in: dir)
        let ext = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            + "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:sendarix:node:\(id),DNS:\(id)\n"
        try ext.write(toFile: "\(base).ext", atomically: true, encoding: .utf8)
        try Self.openssl(["x509", "-req", "-in", "\(base).csr", "-CA", caFile, "-CAkey", "\(dir)/\(name).key",
                          "-set_serial", "\(UInt32.random(in: 1...UInt32.max))", "-days", "2",
                          "-extfile", "\(base).ext", "-out", "\(base).pem"], in: dir)
        return PeerTransport.TLSFiles(certificate: "\(base).pem", privateKey: "\(base).key", caFile: trust ?? caFile)
    }

    static func openssl(_ args: [String], in dir: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let msg = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ClusterError(.invalidConfig, "openssl \(args.first ?? "") failed: \(String(decoding: msg, as: UTF8.self))")
        }
    }
}
