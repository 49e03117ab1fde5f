import Foundation
import Testing
import TestSupport

/// A real `sendarix serve` process started for one test, on 127.0.0.1 port-0 listeners, with its
/// own temporary data directory. The node reports the ports it bound in `dataDir/listen.json`.
final class RelayProcess: @unchecked Sendable {
    // Safe: mutated only by the test that owns it.
    let directory: String
    let dataDir: String
    let configPath: String
    var process: ChildProcess!
    let stderrPath: String
    var ports: [String: Any] = [:]
    let adminToken = "test-admin-token-\(UUID().uuidString.prefix(8))"
    let config: [String: Any]
    /// The node's environment (nil: the test runner's).
    let environment: [String: String]?
    /// A program that runs the binary (it and its arguments come before the binary's path), e.g.
    /// `setpriv` with capabilities dropped; it must exec the binary, so the process is the node.
    let launcher: [String]

    static var binary: String {
        if let env = ProcessInfo.processInfo.environment["SENDARIX_BINARY"], !env.isEmpty { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/sendarix").path
    }

    /// Writes a config (defaults below, deep-merged with `overlay`) and starts the node.
    init(overlay: [String: Any] = [:], users: [(String, String)] = [("alice", "s3cret-pass")], dataDir: String? = nil,
         environment: [String: String]? = nil, launcher: [String] = []) throws {
        self.launcher = launcher
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sx-it-\(UUID().uuidString)").path
        self.dataDir = dataDir ?? directory + "/data"
        self.environment = environment
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: self.dataDir, withIntermediateDirectories: true)
        var base: [String: Any] = [
            "node": ["id": "it1", "hostname": "relay.test", "dataDir": self.dataDir],
            "listen": ["submission": ["127.0.0.1:0"], "smtps": ["127.0.0.1:0"], "relay": ["127.0.0.1:0"],
                       "admin": "127.0.0.1:0"],
            "users": users.map { ["name": $0.0, "password": $0.1, "tenant": "acme"] },
            "policy": ["localDomains": ["local.test"], "trustedNetworks": []],
            "adminToken": adminToken,
            "delivery": ["enabled": false],
            // Dozens of nodes share the test machine with the test runner: their commit threads keep
            // the runner's priority instead of the default -10, which is for one node per machine
            // (CommitPriorityTests sets its own values).
            "spool": ["writerNice": 0],
        ]
        base = RelayProcess.merge(base, overlay)
        config = base
        configPath = directory + "/sendarix.json"
        try JSONSerialization.data(withJSONObject: base, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: configPath))
        stderrPath = directory + "/stderr.log"
        try launch()
    }

    static func merge(_ a: [String: Any], _ b: [String: Any]) -> [String: Any] {
        var out = a
        for (k, v) in b {
            if let bv = v as? [String: Any], let av = out[k] as? [String: Any] { out[k] = merge(av, bv) } else { out[k] = v }
        }
        return out
    }

    /// Starts (or restarts) the binary and waits until it reports its listeners, or exits. The
    /// 120 s bound is a hang guard only: a first start generates an RSA key for its self-signed
    /// certificate before it logs anything, and on a loaded 2-core machine (load 25, a release
    /// build beside) a debug node once took more than 30 s to get that far.
    func launch() throws {
        try? FileManager.default.removeItem(atPath: dataDir + "/listen.json")
        let command = launcher + [RelayProcess.binary, "serve", "--config", configPath]
        let p = try ChildProcess(command[0], Array(command.dropFirst()), environment: environment,
                                 stdoutPath: stderrPath, stderrPath: stderrPath, appendOutput: true)
        process = p
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let d = FileManager.default.contents(atPath: dataDir + "/listen.json"),
               let obj = try? JSONSerialization.jsonObject(with: d) as? [String: Any] {
                ports = obj
                return
            }
            if !p.isRunning { break }
            usleep(20_000)
        }
        // The caller gets no object to clean up: a node still starting must not outlive the test.
        if p.isRunning {
            p.signal(SIGKILL)
            p.wait()
        }
        throw HarnessError("sendarix did not start: \(self.log())")
    }

    /// The first address reported for `kind` (submission, smtps, relay, admin) as (host, port).
    func address(_ kind: String) -> (String, Int) {
        let text: String
        if let list = ports[kind] as? [String] { text = list[0] } else { text = ports[kind] as! String }
        let colon = text.lastIndex(of: ":")!
        return (String(text[..<colon]), Int(text[text.index(after: colon)...])!)
    }

    func port(_ kind: String) -> Int { address(kind).1 }

    /// The node's stderr so far.
    func log() -> String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// SIGTERM and wait for exit (SIGKILL after 40 s).
    func stop() {
        guard let process, process.isRunning else { return }
        process.signal(SIGTERM)
        process.wait(timeout: 40)
    }

    /// SIGKILL and wait for exit.
    func kill9() {
        process.signal(SIGKILL)
        process.wait()
    }

    /// Removes the temp directory (after stop).
    func cleanUp() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// GET on the admin API with the bearer token through curl; returns (status, body).
    func admin(_ path: String, token: String? = nil) throws -> (Int, Data) {
        let (host, port) = address("admin")
        let out = try run("/usr/bin/curl", ["-s", "-o", "-", "-w", "\n%{http_code}", "-H",
                                            "Authorization: Bearer \(token ?? adminToken)",
                                            "http://\(host):\(port)\(path)"])
        // Binary-safe: the status follows the last newline.
        let bytes = Array(out.stdout)
        guard let nl = bytes.lastIndex(of: 0x0A) else { return (0, Data()) }
        return (Int(String(decoding: bytes[(nl + 1)...], as: UTF8.self)) ?? 0, Data(bytes[..<nl]))
    }

    /// Parsed JSON of an admin GET.
    func adminJSON(_ path: String) throws -> [String: Any] {
        let (status, body) = try admin(path)
        guard status == 200, let obj = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw HarnessError("admin \(path) -> \(status): \(String(decoding: body, as: UTF8.self))")
        }
        return obj
    }

    /// Events for a query string like `type=accepted&limit=100`.
    func events(_ query: String) throws -> [[String: Any]] {
        (try adminJSON("/v1/events?\(query)")["events"] as? [[String: Any]]) ?? []
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Result of a child process.
struct ProcessOutput {
    var status: Int32
    var stdout: Data
    var stderr: String
}

/// Runs a program to completion with an optional stdin and a time limit (kills it after).
///
/// Output goes to temporary files, not pipes: with tests spawning processes concurrently, a pipe's
/// write end can leak into an unrelated long-lived child (a node started meanwhile), and then a
/// pipe reader would never see end-of-file.
@discardableResult
func run(_ path: String, _ args: [String], stdin: Data? = nil, timeout: Double = 120,
         environment: [String: String]? = nil) throws -> ProcessOutput {
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("sx-run-\(UUID().uuidString)").path
    let outPath = base + ".out", errPath = base + ".err", inPath = base + ".in"
    _ = FileManager.default.createFile(atPath: inPath, contents: stdin ?? Data())
    defer { for f in [outPath, errPath, inPath] { try? FileManager.default.removeItem(atPath: f) } }
    let p = try ChildProcess(path, args, environment: environment, stdinPath: inPath, stdoutPath: outPath,
                             stderrPath: errPath)
    let status = p.wait(timeout: timeout)
    let stdout = FileManager.default.contents(atPath: outPath) ?? Data()
    let stderr = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
    return ProcessOutput(status: status, stdout: stdout, stderr: stderr)
}

/// Runs a Python 3 script (system interpreter, where apt's python3-* modules live) with arguments.
@discardableResult
func python(_ script: String, _ args: [String] = [], timeout: Double = 120) throws -> ProcessOutput {
    try run("/usr/bin/python3", ["-c", script] + args, timeout: timeout)
}
