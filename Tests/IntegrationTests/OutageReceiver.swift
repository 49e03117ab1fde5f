import Foundation
import TestSupport

/// A receiving MTA in Python on 127.0.66.10 that answers every connection with 421 while its
/// outage file exists, and takes mail (a minimal ESMTP dialogue) once it is removed. Each
/// connection appends `421` or `open` to its journal, each message `msg <recipients>`.
final class OutageReceiver: @unchecked Sendable {
    // Safe: immutable after init; the process handle is only signalled.
    static let script = #"""
    import os, socket, sys, threading
    ip, portfile, flag, journal = sys.argv[1:5]
    lock = threading.Lock()
    def note(line):
        with lock, open(journal, "a") as f:
            f.write(line + "\n")
    def serve(c):
        f = c.makefile("rb")
        def send(line):
            c.sendall(line.encode() + b"\r\n")
        try:
            if os.path.exists(flag):
                note("421")
                send("421 4.3.2 outage.test service not available, try later")
                return
            note("open")
            send("220 outage.test ESMTP")
            rcpts = []
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    send("250-outage.test\r\n250 8BITMIME")
                elif verb == b"MAIL":
                    rcpts = []
                    send("250 2.1.0 ok")
                elif verb == b"RCPT":
                    rcpts.append(line[8:].strip(b" <>\r\n").decode())
                    send("250 2.1.5 ok")
                elif verb == b"DATA":
                    send("354 go ahead")
                    while f.readline() not in (b".\r\n", b".\n", b""):
                        pass
                    note("msg " + ",".join(rcpts))
                    send("250 2.0.0 queued")
                elif verb == b"QUIT":
                    send("221 bye")
                    return
                else:
                    send("250 ok")
        except OSError:
            pass
        finally:
            c.close()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, 0))
    s.listen(64)
    with open(portfile + ".tmp", "w") as p:
        p.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    """#

    let directory: String
    let port: Int
    private let process: ChildProcess
    private var flagPath: String { directory + "/outage" }
    private var journalPath: String { directory + "/journal" }

    /// Starts the receiver in its outage (answering 421). Blocks until it listens.
    init(ip: String = "127.0.66.10") throws {
        directory = NSTemporaryDirectory() + "sx-outage-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: directory + "/outage", contents: Data())
        try Self.script.write(toFile: directory + "/receiver.py", atomically: true, encoding: .utf8)
        let portFile = directory + "/port"
        process = try ChildProcess("/usr/bin/python3", [directory + "/receiver.py", ip, portFile, directory + "/outage",
                                                        directory + "/journal"],
                                   stdoutPath: directory + "/stderr", stderrPath: directory + "/stderr", appendOutput: true)
        let deadline = Date().addingTimeInterval(60)  // a hang guard: python on a loaded machine
        var port: Int?
        while port == nil && Date() < deadline && process.isRunning {
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            if port == nil { usleep(20_000) }
        }
        guard let port else {
            process.signal(SIGKILL)
            _ = process.wait(timeout: 5)
            throw HarnessError("outage receiver did not start: \((try? String(contentsOfFile: directory + "/stderr", encoding: .utf8)) ?? "")")
        }
        self.port = port
    }

    /// Ends the outage: later connections get a normal dialogue.
    func recover() {
        try? FileManager.default.removeItem(atPath: flagPath)
    }

    /// The journal's lines so far.
    var journal: [String] {
        ((try? String(contentsOfFile: journalPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Stops the receiver and removes its directory.
    func stop() {
        process.signal(SIGTERM)
        _ = process.wait(timeout: 5)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
