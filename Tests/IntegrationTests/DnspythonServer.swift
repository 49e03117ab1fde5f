import Foundation
import TestSupport

/// An authoritative DNS server written with dnspython (not Sendarix's own codec), on 127.0.0.1 UDP
/// and TCP on one port: answers the `records` it is given (name and type → rdata texts, in that
/// wire order) with AA set, NODATA with an SOA for other types of a known name, NXDOMAIN for other
/// names. Logs every question (`udp|tcp TYPE name`) to `queries`.
///
/// Optionally also runs a rejecting SMTP listener (`rejectSMTP`, host:port) that answers every RCPT
/// with `550 5.1.1 wrong MX chosen` and logs each connection (`smtp-connection`).
final class DnspythonServer: @unchecked Sendable {
    // Safe: set up in init, only read afterwards; stop() is called once by the owning test.
    let port: UInt16
    private let directory: String
    private let process: ChildProcess

    static let script = #"""
    import json, os, socket, socketserver, struct, sys, threading
    import dns.flags, dns.message, dns.name, dns.rcode, dns.rdatatype, dns.rrset
    ready_path, log_path, records_json, reject = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    records, names, soa, loaded = {}, set(), None, [None]
    def load():
        # "@path": the records live in a file the test may rewrite; reloaded when it changes.
        global records, names, soa
        if records_json.startswith('@'):
            mtime = os.stat(records_json[1:]).st_mtime_ns
            if loaded[0] == mtime: return
            loaded[0] = mtime
            text = open(records_json[1:]).read()
        elif loaded[0] is None:
            loaded[0] = 0
            text = records_json
        else:
            return
        new = {}
        for key, rdatas in json.loads(text).items():
            name, rdtype = key.split(' ')
            new[(dns.name.from_text(name), rdtype)] = rdatas
        records, names = new, {n for n, _ in new}
        origin = min(names, key=lambda n: len(n.labels))
        soa = dns.rrset.from_text(origin, 60, 'IN', 'SOA', 'ns.%s hostmaster.%s 1 60 60 60 60' % (origin, origin))
    load()
    lock = threading.Lock()
    log_lock = threading.Lock()
    def log(line):
        with log_lock:
            with open(log_path, 'a') as f: f.write(line + '\n')
    def answer(wire, proto):
        with lock: load()
        q = dns.message.from_wire(wire)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        question = q.question[0]
        rdtype = dns.rdatatype.to_text(question.rdtype)
        log('%s %s %s' % (proto, rdtype, question.name.to_text().lower()))
        key = (question.name, rdtype)
        if key in records:
            r.answer.append(dns.rrset.from_text_list(question.name, 60, 'IN', rdtype, records[key]))
        elif question.name in names:
            r.authority.append(soa)
        else:
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority.append(soa)
        return r
    def serve_tcp(conn):
        with conn:
            buf = b''
            while True:
                chunk = conn.recv(65536)
                if not chunk: return
                buf += chunk
                while len(buf) >= 2 and len(buf) >= 2 + struct.unpack('!H', buf[:2])[0]:
                    n = struct.unpack('!H', buf[:2])[0]
                    out = answer(buf[2:2 + n], 'tcp').to_wire()
                    buf = buf[2 + n:]
                    conn.sendall(struct.pack('!H', len(out)) + out)
    def accept_tcp(listener):
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve_tcp, args=(conn,), daemon=True).start()
    def serve_smtp(conn):
        with conn:
            f = conn.makefile('rb')
            conn.sendall(b'220 wrong-mx ESMTP\r\n')
            for line in f:
                verb = line[:4].upper()
                if verb == b'RCPT': conn.sendall(b'550 5.1.1 wrong MX chosen\r\n')
                elif verb == b'QUIT': conn.sendall(b'221 bye\r\n'); return
                else: conn.sendall(b'250 ok\r\n')
    def accept_smtp(listener):
        while True:
            conn, peer = listener.accept()
            log('smtp-connection %s' % (peer,))
            threading.Thread(target=serve_smtp, args=(conn,), daemon=True).start()
    while True:  # UDP on a free port, then TCP on the same one (retry if that is taken)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(('127.0.0.1', 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.bind(('127.0.0.1', port)); tcp.listen(16); break
        except OSError:
            udp.close(); tcp.close()
    threading.Thread(target=accept_tcp, args=(tcp,), daemon=True).start()
    if reject != '-':
        host, rport = reject.rsplit(':', 1)
        smtp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        smtp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        smtp.bind((host, int(rport))); smtp.listen(16)
        threading.Thread(target=accept_smtp, args=(smtp,), daemon=True).start()
    with open(ready_path + '.tmp', 'w') as f: f.write(str(port))
    os.rename(ready_path + '.tmp', ready_path)
    while True:
        wire, peer = udp.recvfrom(65535)
        try:
            q = answer(wire, 'udp')
            udp.sendto(q.to_wire(max_size=65535), peer)
        except Exception as e:
            log('error %r' % (e,))
    """#

    /// Starts the server; `records` maps "name TYPE" (e.g. "dp.test. MX") to rdata texts.
    init(records: [String: [String]], rejectSMTP: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sx-dnspy-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.write(records, to: directory + "/records.json")
        process = try ChildProcess("/usr/bin/python3", ["-c", Self.script, directory + "/port", directory + "/queries.log",
                                                         "@" + directory + "/records.json", rejectSMTP ?? "-"],
                                   stdoutPath: directory + "/output.log", stderrPath: directory + "/output.log",
                                   appendOutput: true)
        let deadline = Date().addingTimeInterval(30) // hang guard
        var found: UInt16?
        while found == nil, process.isRunning, Date() < deadline {
            if let d = FileManager.default.contents(atPath: directory + "/port") { found = UInt16(String(decoding: d, as: UTF8.self)) }
            else { usleep(20_000) }
        }
        guard let found else {
            let output = (try? String(contentsOfFile: directory + "/output.log", encoding: .utf8)) ?? ""
            process.signal(SIGKILL)
            process.wait()
            try? FileManager.default.removeItem(atPath: directory)
            throw HarnessError("the dnspython server did not start: \(output)")
        }
        port = found
    }

    /// Replaces the served records (the server reloads them at its next question).
    func update(_ records: [String: [String]]) throws {
        try Self.write(records, to: directory + "/records.json")
    }

    static func write(_ records: [String: [String]], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: records)
        try data.write(to: URL(fileURLWithPath: path + ".tmp"))
        guard rename(path + ".tmp", path) == 0 else { throw HarnessError("cannot rename \(path)") }
    }

    /// A TXT rdata text for `value`: quoted strings of at most 255 bytes (long DKIM keys).
    static func txt(_ value: String) -> String {
        var parts: [String] = []
        var rest = Substring(value)
        while !rest.isEmpty {
            parts.append("\"" + rest.prefix(255) + "\"")
            rest = rest.dropFirst(255)
        }
        return parts.joined(separator: " ")
    }

    /// Log lines so far: `udp MX dp.test.`, `tcp A mx.dp.test.`, `smtp-connection (…)`, `error …`.
    var queries: [String] {
        ((try? String(contentsOfFile: directory + "/queries.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The server's own output (tracebacks).
    var output: String { (try? String(contentsOfFile: directory + "/output.log", encoding: .utf8)) ?? "" }

    /// Kills the server and removes its directory.
    func stop() {
        process.signal(SIGKILL)
        process.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
