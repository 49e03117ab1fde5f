import Foundation
import Testing
import TestSupport

/// A private rspamd (Debian's `rspamd`) for one test: a minimal config in a temp directory — no
/// modules, pcre instead of hyperscan, a four-line TLD list so it starts in about a second — with
/// its normal worker on `host`:`port` and its log in the directory. GTUBE needs no module.
final class RspamdProcess: @unchecked Sendable {
    // Safe: owned by one test.
    let directory: String
    let host: String
    let port: UInt16
    let process: ChildProcess

    init(host: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sx-rspamd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.host = host
        port = try Self.freePort(host)
        try "com\nnet\norg\ntest\n".write(toFile: directory + "/tld.dat", atomically: true, encoding: .utf8)
        let config = """
        options {
          pidfile = "\(directory)/rspamd.pid";
          dbdir = "\(directory)";
          filters = "";
          disable_hyperscan = true;
          url_tld = "\(directory)/tld.dat";
          dns { timeout = 1s; retransmits = 1; nameserver = ["127.0.0.1:1"]; }
        }
        logging { type = "console"; level = "warning"; }
        worker "normal" { bind_socket = "\(host):\(port)"; count = 1; }
        actions { reject = 15; add_header = 6; }
        """
        try config.write(toFile: directory + "/rspamd.conf", atomically: true, encoding: .utf8)
        var args = ["-f", "-c", directory + "/rspamd.conf"]
        if getuid() == 0 { args += ["-i", "-u", "root", "-g", "root"] }
        process = try ChildProcess("/usr/bin/rspamd", args, stdoutPath: directory + "/rspamd.log",
                                   stderrPath: directory + "/rspamd.log", appendOutput: true)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if Self.accepts(host, port) { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        stop()
        throw HarnessError("rspamd did not start: \((try? String(contentsOfFile: directory + "/rspamd.log", encoding: .utf8)) ?? "")")
    }

    /// SIGTERM (the main process stops its workers), wait, remove the directory.
    func stop() {
        if process.isRunning {
            process.signal(SIGTERM)
            process.wait(timeout: 10)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// True when a TCP connect to host:port succeeds.
    static func accepts(_ host: String, _ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr(host)
        a.sin_port = port.bigEndian
        return withUnsafePointer(to: &a) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A port free a moment ago on `host`.
    static func freePort(_ host: String) throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return try bindAny(fd, host)
    }

    /// Binds `fd` to `host`, port 0; returns the port.
    static func bindAny(_ fd: Int32, _ host: String) throws -> UInt16 {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr(host)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else { throw HarnessError("bind on \(host) failed") }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: a.sin_port)
    }
}
