import Foundation
import Glibc
import TestSupport

/// Debian's OpenDKIM 2.11 as an independent DKIM verifier: `opendkim` running as a verifying milter
/// (mode `v`, `On-Default accept`, `AlwaysAddARHeader yes`, authserv-id `verifier.test`) on a free
/// 127.0.0.1 port, and `opendkim-testkey` for checking published key records.
///
/// Both resolve through libunbound, configured by `ResolverConfiguration` so that every question
/// goes to the test's DNS server on 127.0.0.1 and nowhere else: one forward zone for the root
/// (forward-first off, so no fallback to recursion), `do-not-query-localhost: no` (unbound refuses
/// loopback servers otherwise) and `local-zone: "test." nodefault` (unbound answers the RFC 6761
/// `test.` names NXDOMAIN itself otherwise). No trust anchor: no DNSSEC priming queries.
final class OpenDKIMMilter: @unchecked Sendable {
    // Safe: set up in init, only read afterwards; stop() is called once by the owning test.
    let directory: String
    let port: UInt16
    private let process: ChildProcess

    /// Writes the unbound configuration that forwards everything to 127.0.0.1:`dnsPort`.
    static func writeResolverConfig(to path: String, dnsPort: UInt16) throws {
        let text = """
        server:
          do-not-query-localhost: no
          local-zone: "test." nodefault
        forward-zone:
          name: "."
          forward-addr: 127.0.0.1@\(dnsPort)

        """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// `opendkim-testkey -x CONF -d domain -s selector [-k keyFile] -vvv` with keys looked up at
    /// 127.0.0.1:`dnsPort`: its exit status and what it printed, stdout ("key OK") then stderr
    /// (the steps, "record not found", …).
    static func testkey(domain: String, selector: String, keyFile: String? = nil, dnsPort: UInt16) throws -> (status: Int32, output: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-testkey-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeResolverConfig(to: dir + "/unbound.conf", dnsPort: dnsPort)
        try "ResolverConfiguration \(dir)/unbound.conf\n".write(toFile: dir + "/opendkim.conf", atomically: true, encoding: .utf8)
        var args = ["-x", dir + "/opendkim.conf", "-d", domain, "-s", selector]
        if let keyFile { args += ["-k", keyFile] }
        let out = try run("/usr/sbin/opendkim-testkey", args + ["-vvv"], timeout: 60)
        return (out.status, String(decoding: out.stdout, as: UTF8.self) + out.stderr)
    }

    /// Starts a verifying milter that looks keys up at 127.0.0.1:`dnsPort`.
    init(dnsPort: UInt16) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sx-opendkim-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.writeResolverConfig(to: directory + "/unbound.conf", dnsPort: dnsPort)
        var started: (UInt16, ChildProcess)?
        for attempt in 1...3 {
            let port = try SinkProcess.freePort()
            let conf = """
            Mode v
            Socket inet:\(port)@127.0.0.1
            Background no
            Syslog no
            PidFile \(directory)/opendkim.pid
            On-Default accept
            AlwaysAddARHeader yes
            AuthservID verifier.test
            ResolverConfiguration \(directory)/unbound.conf

            """
            try conf.write(toFile: directory + "/opendkim.conf", atomically: true, encoding: .utf8)
            let p = try ChildProcess("/usr/sbin/opendkim", ["-x", directory + "/opendkim.conf", "-f"],
                                     stdoutPath: directory + "/opendkim.out", stderrPath: directory + "/opendkim.out",
                                     appendOutput: true)
            let deadline = Date().addingTimeInterval(20) // hang guard
            while p.isRunning, Date() < deadline, !SinkProcess.listens(port, inTreeOf: p.pid) { usleep(20_000) }
            if p.isRunning, SinkProcess.listens(port, inTreeOf: p.pid) {
                started = (port, p)
                break
            }
            p.signal(SIGKILL)
            p.wait()
            if attempt == 3 {
                let out = (try? String(contentsOfFile: directory + "/opendkim.out", encoding: .utf8)) ?? ""
                try? FileManager.default.removeItem(atPath: directory)
                throw HarnessError("opendkim did not start listening (3 ports tried): \(out)")
            }
        }
        guard let started else { throw HarnessError("opendkim did not start") }
        (port, process) = started
    }

    /// What opendkim printed (configuration errors).
    var output: String { (try? String(contentsOfFile: directory + "/opendkim.out", encoding: .utf8)) ?? "" }

    /// Stops the milter (SIGTERM, then SIGKILL) and removes its directory.
    func stop() {
        process.signal(SIGTERM)
        process.wait(timeout: 10) // SIGKILLs after that
        try? FileManager.default.removeItem(atPath: directory)
    }
}
