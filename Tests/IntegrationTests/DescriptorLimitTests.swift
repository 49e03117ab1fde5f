import Foundation
import Testing
import TestSupport

/// Descriptor exhaustion through the binary: a node whose open-file limit is lowered (prlimit) below
/// what its clients ask for must log it clearly, keep serving the sessions it has, and accept again
/// once descriptors are free, without a crash or a loop spinning on the readable listener.
@Suite("descriptor limit (EMFILE)", .serialized)
struct DescriptorLimitTests {
    @Test("at the open-file limit accepts pause with an 'accept paused' log naming EMFILE, and resume once clients leave")
    func emfilePausesAndRecovers() throws {
        let relay = try RelayProcess(overlay: [
            "listen": ["submission": [], "smtps": [], "relay": ["127.64.10.1:0"], "admin": "127.64.10.1:0"],
            "policy": ["maxConnectionsPerIP": 10000, "trustedNetworks": ["127.0.0.0/8"]],
            "limits": ["maxConnections": 10000],
        ])
        defer { relay.cleanUp() }
        let pid = relay.process.pid
        // Leave a few descriptors above what the running node holds, far fewer than the clients.
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        let limit = open + 8
        let lowered = try run("/usr/bin/prlimit", ["--pid", String(pid), "--nofile=\(limit):\(limit)"])
        try #require(lowered.status == 0, "prlimit: \(lowered.stderr)")

        let (host, port) = relay.address("relay")
        // Opens one session and reads its greeting, then 39 more connections (the kernel completes
        // them into the listen backlog even when the node cannot accept), waits for the node's
        // 'accept paused' line, checks the first session still answers, closes everything, then a
        // new smtplib session must work and 'accept resumed' must follow. The first session is
        // greeted before the others connect: each event loop has its own listener on the port
        // (SO_REUSEPORT), so a connection opened among the 40 can wait in one loop's backlog while
        // the other loop's accepts take the last descriptors (on a loaded machine the loops run
        // only after all 40 connected).
        let script = """
        import json, smtplib, socket, sys, time
        host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        def wait_log(word, seconds=60):
            end = time.time() + seconds
            while time.time() < end:
                if word in open(log, errors="replace").read():
                    return True
                time.sleep(0.05)
            return False
        def read_line(conn):
            buf = b""
            while not buf.endswith(b"\\r\\n"):
                chunk = conn.recv(512)
                if not chunk:
                    break
                buf += chunk
            return buf.decode(errors="replace")
        first = socket.create_connection((host, port), timeout=60)
        out = {"firstGreeting": read_line(first)[:3]}
        conns = [first]
        for i in range(39):
            conns.append(socket.create_connection((host, port), timeout=30))
        out["paused"] = wait_log("accept paused")
        first.sendall(b"NOOP\\r\\n")
        out["firstNoop"] = read_line(first)[:3]
        for c in conns:
            c.close()
        s = smtplib.SMTP(host, port, timeout=60)
        out["ehlo"] = s.ehlo("after.test")[0]
        s.quit()
        out["resumed"] = wait_log("accept resumed")
        print(json.dumps(out))
        """
        let result = try python(script, [host, String(port), relay.stderrPath], timeout: 180)
        let obj = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any],
                               "python: \(result.stderr) \(relay.log().suffix(2000))")
        #expect(obj["paused"] as? Bool == true, "no 'accept paused' in the log: \(relay.log().suffix(2000))")
        #expect(obj["firstGreeting"] as? String == "220")
        #expect(obj["firstNoop"] as? String == "250")
        #expect(obj["ehlo"] as? Int == 250)
        #expect(obj["resumed"] as? Bool == true)
        let log = relay.log()
        let pausedLine = log.split(separator: "\n").first { $0.contains("accept paused") }.map(String.init) ?? ""
        #expect(pausedLine.contains("Too many open files"), "\(pausedLine)")
        #expect(pausedLine.contains("LimitNOFILE"), "the line tells what to raise: \(pausedLine)")
        #expect(relay.process.isRunning)
    }
}
