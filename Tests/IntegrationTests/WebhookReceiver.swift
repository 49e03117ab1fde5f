import Foundation
import TestSupport

/// A Python webhook receiver for tests, on 127.51.x: logs every request (headers, body, the status
/// it answered) as JSON lines and answers with the status in its `mode` file (200, 503, 410 …),
/// but 500 to any body containing `poison`; 429 and 503 carry `Retry-After` (0 s unless the mode
/// says). `events` unpacks batches (JSON array bodies) into their events.
/// `verify` checks the log with the Standard Webhooks algorithm in Python. Stopped by `stop()`.
final class WebhookReceiver: @unchecked Sendable {
    // Safe: used by the one test that owns it.
    static let script = #"""
    import http.server, json, os, sys, threading, time
    host, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lock = threading.Lock()
    inflight = [0, 0]  # now, most seen
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
            try: mode = open(os.path.join(directory, 'mode')).read().strip() or '200'
            except OSError: mode = '200'
            status = int(mode.split()[0])
            if b'poison' in body: status = 500
            with lock:
                inflight[0] += 1; inflight[1] = max(inflight[1], inflight[0])
                open(os.path.join(directory, 'max-inflight'), 'w').write(str(inflight[1]))
            if len(mode.split()) > 1: time.sleep(float(mode.split()[1]))
            with lock: inflight[0] -= 1
            with lock:
                with open(os.path.join(directory, 'requests.jsonl'), 'a') as f:
                    f.write(json.dumps({'id': self.headers.get('webhook-id'), 'timestamp': self.headers.get('webhook-timestamp'),
                                        'signature': self.headers.get('webhook-signature'), 'body': body.decode(),
                                        'status': status, 'peer': '%s:%d' % self.client_address[:2]}) + '\n')
            reply = b'{"ok": true}' if status < 300 else b'receiver says no'
            self.send_response(status)
            if status in (429, 503): self.send_header('Retry-After', mode.split()[2] if len(mode.split()) > 2 else '0')
            self.send_header('Content-Length', str(len(reply))); self.end_headers(); self.wfile.write(reply)
        def log_message(self, *a): pass
    class S(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        daemon_threads = True
    s = S((host, port), H)
    if len(sys.argv) > 5:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        s.socket = ctx.wrap_socket(s.socket, server_side=True)
    open(os.path.join(directory, 'ready'), 'w').write('1')
    s.serve_forever()
    """#

    /// Checks every logged request's signature: argv[1] is the log, argv[2] a JSON list of
    /// secrets; prints a JSON object {id: [number of valid signatures per request, …]} and fails
    /// (exit 1) when a request carries no signature valid for any secret.
    static let verifier = #"""
    import base64, hashlib, hmac, json, sys
    secrets = json.loads(sys.argv[2])
    keys = [base64.b64decode(s[len('whsec_'):]) for s in secrets]
    out = {}
    bad = []
    for line in open(sys.argv[1]):
        r = json.loads(line)
        signed = ('%s.%s.%s' % (r['id'], r['timestamp'], r['body'])).encode()
        expected = {base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()).decode() for k in keys}
        sigs = [p.split(',', 1)[1] for p in r['signature'].split(' ') if p.startswith('v1,')]
        valid = sum(1 for s in sigs if any(hmac.compare_digest(s, e) for e in expected))
        if valid == 0: bad.append(r['id'])
        out.setdefault(r['id'], []).append(valid)
    print(json.dumps(out))
    sys.exit(1 if bad else 0)
    """#

    let host: String
    let port: Int
    let directory: String
    var process: ChildProcess?

    /// Prepares a receiver on `host` at a free port; `start()` starts it.
    init(host: String) throws {
        self.host = host
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sx-hook-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let out = try python("import socket\ns = socket.socket(); s.bind(('\(host)', 0)); print(s.getsockname()[1])")
        guard let p = Int(String(decoding: out.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw HarnessError("no free port on \(host): \(out.stderr)")
        }
        port = p
    }

    var url: String { "http://\(host):\(port)/hook" }

    /// What the receiver answers from now on, after `delay` seconds (429 and 503 with
    /// `Retry-After: retryAfter`).
    func setMode(_ status: Int, delay: Double = 0, retryAfter: Int = 0) throws {
        try "\(status) \(delay) \(retryAfter)".write(toFile: directory + "/mode", atomically: true, encoding: .utf8)
    }

    /// Starts listening (returns once it does); with `tls` (certificate and key PEM files) over HTTPS.
    func start(tls: (String, String)? = nil) throws {
        try? FileManager.default.removeItem(atPath: directory + "/ready")
        let extra = tls.map { [$0.0, $0.1] } ?? []
        let p = try ChildProcess("/usr/bin/python3", ["-c", Self.script, host, String(port), directory] + extra,
                                 stdoutPath: directory + "/output.log", stderrPath: directory + "/output.log",
                                 appendOutput: true)
        process = p
        let deadline = Date().addingTimeInterval(30)  // hang guard
        while !FileManager.default.fileExists(atPath: directory + "/ready"), p.isRunning, Date() < deadline { usleep(20_000) }
        guard FileManager.default.fileExists(atPath: directory + "/ready") else {
            throw HarnessError("receiver did not start: \((try? String(contentsOfFile: directory + "/output.log", encoding: .utf8)) ?? "")")
        }
    }

    /// Kills the receiver (the port is closed: calls are refused).
    func halt() {
        process?.signal(SIGKILL)
        process?.wait()
        process = nil
    }

    /// The most requests the receiver was handling at once.
    var maxInFlight: Int {
        Int((try? String(contentsOfFile: directory + "/max-inflight", encoding: .utf8)) ?? "") ?? 0
    }

    /// Every request logged so far.
    var requests: [[String: Any]] {
        let text = (try? String(contentsOfFile: directory + "/requests.jsonl", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// One event as a receiver sees it: the POST's `webhook-id` (a batch's, or the event's own
    /// when it came alone), the event's own id (`webhookId` in a batch), its body and the
    /// status the POST was answered with.
    struct Received {
        var postID: String
        var eventID: String
        var body: [String: Any]
        var status: Int
    }

    /// Every event of every request so far, batches unpacked (in the order they came).
    var events: [Received] {
        requests.flatMap { r -> [Received] in
            let postID = r["id"] as? String ?? "", status = r["status"] as? Int ?? 0
            let parsed = try? JSONSerialization.jsonObject(with: Data((r["body"] as? String ?? "").utf8))
            if let list = parsed as? [[String: Any]] {
                return list.map { Received(postID: postID, eventID: $0["webhookId"] as? String ?? "", body: $0, status: status) }
            }
            return [Received(postID: postID, eventID: postID, body: parsed as? [String: Any] ?? [:], status: status)]
        }
    }

    /// Valid signature counts per webhook-id (per request) checked in Python against `secrets`;
    /// throws when a request has no valid signature.
    func verify(secrets: [String]) throws -> [String: [Int]] {
        let list = String(decoding: try JSONSerialization.data(withJSONObject: secrets), as: UTF8.self)
        let out = try python(Self.verifier, [directory + "/requests.jsonl", list])
        guard out.status == 0, let obj = try JSONSerialization.jsonObject(with: out.stdout) as? [String: [Int]] else {
            throw HarnessError("signature check failed: \(String(decoding: out.stdout, as: UTF8.self)) \(out.stderr)")
        }
        return obj
    }

    /// Stops and removes the directory.
    func stop() {
        halt()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
