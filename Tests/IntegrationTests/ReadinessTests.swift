import Foundation
import RelayNode
import Testing
import TestSupport

/// systemd `Type=notify` readiness through the binary: a Python process plays systemd's side of
/// `$NOTIFY_SOCKET`.
@Suite("systemd readiness (sd_notify)", .serialized)
struct ReadinessTests {
    @Test("a follower is caught up only once it applied the commit index its leader reported, not its own (capped) one")
    func caughtUpRule() {
        // Restored from a backup: applied 9 = its own commit 9, but the leader reported 14.
        #expect(!ReadinessNotifier.caughtUp(isLeader: false, knowsLeader: true, applied: 9, leaderCommit: 14))
        #expect(!ReadinessNotifier.caughtUp(isLeader: false, knowsLeader: true, applied: 9, leaderCommit: nil))
        #expect(!ReadinessNotifier.caughtUp(isLeader: false, knowsLeader: false, applied: 14, leaderCommit: 14))
        #expect(ReadinessNotifier.caughtUp(isLeader: false, knowsLeader: true, applied: 14, leaderCommit: 14))
        #expect(ReadinessNotifier.caughtUp(isLeader: true, knowsLeader: true, applied: 0, leaderCommit: nil))
    }

    @Test("READY=1 arrives once the SMTP port accepts connections, and STOPPING=1 when the node drains")
    func readyAfterListeners() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sx-notify-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let socketPath = work + "/notify.sock"
        let dataDir = work + "/data"
        // On each datagram: record it, and on READY=1 check right away that the submission port
        // (from the node's listen.json) answers with a 220 greeting.
        let script = """
        import json, os, socket, sys
        path, data = sys.argv[1], sys.argv[2]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(path); s.settimeout(90)
        open(path + ".bound", "w").close()
        while True:
            msg = s.recv(4096).decode()
            for line in msg.split("\\n"):
                print("GOT " + line, flush=True)
            if "READY=1" in msg.split("\\n"):
                try:
                    port = int(json.load(open(data + "/listen.json"))["submission"][0].rsplit(":", 1)[1])
                    c = socket.create_connection(("127.0.0.1", port), timeout=10)
                    print("BANNER " + c.recv(512).decode().split("\\r\\n")[0], flush=True)
                    c.close()
                except Exception as e:
                    print("NOT-LISTENING %r" % e, flush=True)
            if "STOPPING=1" in msg.split("\\n"):
                break
        """
        let outPath = work + "/python.out"
        let py = try ChildProcess("/usr/bin/python3", ["-c", script, socketPath, dataDir],
                                  stdoutPath: outPath, stderrPath: outPath)
        defer { if py.isRunning { py.signal(SIGKILL); _ = py.wait() } }
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socketPath + ".bound") && Date() < deadline && py.isRunning { usleep(20_000) }
        try #require(FileManager.default.fileExists(atPath: socketPath + ".bound"))

        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = socketPath
        let relay = try RelayProcess(dataDir: dataDir, environment: env)
        defer { relay.cleanUp() }
        func output() -> String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        while !output().contains("BANNER") && !output().contains("NOT-LISTENING") && Date() < deadline { usleep(20_000) }
        let ready = output()
        #expect(ready.contains("GOT READY=1"), "\(ready)")
        #expect(ready.contains("BANNER 220 "), "\(ready)")
        #expect(ready.contains("GOT STATUS=serving"), "\(ready)")
        #expect(!ready.contains("STOPPING=1"))

        relay.stop()
        #expect(py.wait(timeout: 30) == 0)
        let all = output()
        #expect(all.contains("GOT STOPPING=1"), "\(all)")
        // READY came once, before STOPPING.
        #expect(all.components(separatedBy: "GOT READY=1").count == 2)
        #expect(all.range(of: "GOT READY=1")!.lowerBound < all.range(of: "GOT STOPPING=1")!.lowerBound)
    }
}
