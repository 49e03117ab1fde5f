import DNSCore
import Foundation
import Glibc
import NetworkIO
import Synchronization
import TestSupport

/// What MTA-STS engine tests need besides the fake receivers: a test CA and a certificate for
/// the given names (made with the openssl CLI), an HTTPS policy server (python3 `http.server` +
/// `ssl`, serving `<dir>/<host>.txt` as `/.well-known/mta-sts.txt` and logging each request), and a
/// scripted DNS server answering MX, A, TXT (`_mta-sts.<domain>`) from tables the test can change.
/// Everything listens on 127.0.0.0/8; `stop()` ends the processes and removes the directory.
final class MTASTSFixture: @unchecked Sendable {
    // Safe: the tables are behind a Mutex; the rest is immutable after init.
    struct Failure: Error, CustomStringConvertible { let description: String }

    let directory: String
    let caFile: String
    let certificateFile: String
    let keyFile: String
    let httpsPort: UInt16
    let dns: ScriptedDNS
    private let https: ChildProcess
    /// The DNS data the scripted server answers from.
    final class Tables: Sendable {
        /// MX hosts by domain (preference, host).
        let mx = Mutex<[String: [(UInt16, String)]]>([:])
        /// Addresses by host name (default 127.0.0.1).
        let addresses = Mutex<[String: String]>([:])
        /// TXT `id` of `_mta-sts.<domain>` by domain (absent: NXDOMAIN).
        let stsIDs = Mutex<[String: String]>([:])
    }
    let tables = Tables()

    init(names: [String]) throws {
        directory = NSTemporaryDirectory() + "sx-mtasts-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/policies", withIntermediateDirectories: true)
        caFile = directory + "/ca.pem"
        certificateFile = directory + "/leaf.pem"
        keyFile = directory + "/leaf.key"
        let san = "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ",")
        try san.write(toFile: directory + "/ext.cnf", atomically: true, encoding: .utf8)
        try Self.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/ca.key",
                                          "-out", caFile, "-days", "2", "-subj", "/CN=Sendarix MTA-STS Test CA"], in: directory)
        try Self.run("/usr/bin/openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", directory + "/leaf.csr",
                                          "-subj", "/CN=\(names[0])"], in: directory)
        try Self.run("/usr/bin/openssl", ["x509", "-req", "-in", directory + "/leaf.csr", "-CA", caFile, "-CAkey", directory + "/ca.key",
                                          "-CAcreateserial", "-out", certificateFile, "-days", "2", "-extfile", directory + "/ext.cnf"],
                     in: directory)
        https = try ChildProcess("/usr/bin/python3", ["-c", Self.script, certificateFile, keyFile, directory + "/policies",
                                                      directory + "/port", directory + "/requests.log"],
                                 stdoutPath: directory + "/https.out", stderrPath: directory + "/https.out", appendOutput: true)
        var port: UInt16?
        let deadline = Date().addingTimeInterval(20)
        while port == nil && Date() < deadline && https.isRunning {
            port = (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap { UInt16($0) }
            if port == nil { usleep(20_000) }
        }
        guard let port else {
            let output = (try? String(contentsOfFile: directory + "/https.out", encoding: .utf8)) ?? ""
            kill(https.pid, SIGKILL)
            https.wait(timeout: 5)
            throw Failure(description: "the HTTPS policy server did not start: \(output)")
        }
        httpsPort = port
        let tables = self.tables
        dns = try ScriptedDNS { query in
            let q = query.questions[0]
            let name = q.name.description.lowercased()
            var answers: [DNSRecord] = []
            var rcode = DNSMessage.RCode.noError
            switch q.type {
            case .mx:
                for (preference, host) in tables.mx.withLock({ $0[name] ?? [] }) {
                    answers.append(DNSRecord(name: q.name, ttl: 60, data: .mx(preference: preference, exchange: try! DNSName(host))))
                }
            case .a:
                let ip = tables.addresses.withLock { $0[name] } ?? "127.0.0.1"
                answers.append(DNSRecord(name: q.name, ttl: 60, data: .a(DNSIPAddress.parse(ip)!)))
            case .txt:
                if name.hasPrefix("_mta-sts."), let id = tables.stsIDs.withLock({ $0[String(name.dropFirst(9))] }) {
                    answers.append(DNSRecord(name: q.name, ttl: 0, data: .txt([Array("v=STSv1; id=\(id);".utf8)])))
                } else {
                    rcode = .nameError
                }
            default:
                break
            }
            return DNSMessage(id: 0, isAuthoritative: true, rcode: rcode, answers: answers)
        }
    }

    /// Publishes `policy` as the policy file of `domain` (served at `mta-sts.<domain>`) with TXT `id`.
    func publish(_ domain: String, id: String, policy: String) throws {
        try policy.write(toFile: directory + "/policies/mta-sts.\(domain).txt", atomically: true, encoding: .utf8)
        tables.stsIDs.withLock { $0[domain] = id }
    }

    /// Sets the MX hosts of `domain`.
    func setMX(_ domain: String, _ hosts: [(UInt16, String)]) {
        tables.mx.withLock { $0[domain] = hosts }
    }

    /// Sets the A record of `host`.
    func setAddress(_ host: String, _ ip: String) {
        tables.addresses.withLock { $0[host] = ip }
    }

    /// Policy requests the HTTPS server answered for `mta-sts.<domain>`.
    func fetches(_ domain: String) -> Int {
        let log = (try? String(contentsOfFile: directory + "/requests.log", encoding: .utf8)) ?? ""
        return log.split(separator: "\n").filter { $0.hasPrefix("mta-sts.\(domain) ") }.count
    }

    func stop() {
        dns.stop()
        kill(https.pid, SIGTERM)
        if https.wait(timeout: 5) < 0 { kill(https.pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static func run(_ path: String, _ args: [String], in directory: String) throws {
        let child = try ChildProcess(path, args, stdoutPath: directory + "/openssl.out", stderrPath: directory + "/openssl.out",
                                     appendOutput: true)
        let status = child.wait(timeout: 60)
        guard status == 0 else {
            let output = (try? String(contentsOfFile: directory + "/openssl.out", encoding: .utf8)) ?? ""
            throw Failure(description: "\(path) \(args.joined(separator: " ")) exited \(status): \(output)")
        }
    }

    static let script = #"""
import http.server, os, ssl, sys
cert, key, root, portfile, logfile = sys.argv[1:6]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        with open(logfile, "a") as f:
            f.write(host + " " + self.path + "\n")
        path = os.path.join(root, host + ".txt")
        if self.path != "/.well-known/mta-sts.txt" or not os.path.exists(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = open(path, "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
"""#
}
