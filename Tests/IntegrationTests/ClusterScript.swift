import Foundation
import Testing

/// The cluster/ fault and lifecycle scripts (roll, nemesis, lifecycle) run against the binary under
/// test with a private cluster directory and end with one JSON line of figures.
enum ClusterScript {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The environment for a script whose cluster lives in `dir`.
    static func environment(dir: String) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SENDARIX_BINARY"] = RelayProcess.binary
        env["SENDARIX_CLUSTER_DIR"] = dir
        return env
    }

    /// Runs `cluster/<script> args(dir)` (bash) with a new cluster directory `dir`, prints its output,
    /// expects exit status 0 and returns the figures of its last line. The scripts stop what they
    /// started on every exit path; `cluster/down --purge` afterwards covers one being killed.
    static func figures(_ script: String, timeout: Double, _ args: (String) -> [String]) throws -> [String: Any] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-\(script)-it-\(UUID().uuidString)").path
        defer {
            _ = try? run("/bin/bash", [root + "/cluster/down", "--purge"], timeout: 120, environment: environment(dir: dir))
            try? FileManager.default.removeItem(atPath: dir)
        }
        let out = try run("/bin/bash", [root + "/cluster/" + script] + args(dir), timeout: timeout,
                          environment: environment(dir: dir))
        let text = String(decoding: out.stdout, as: UTF8.self)
        print(text)
        #expect(out.status == 0, "cluster/\(script) exited \(out.status): \(text)\n\(out.stderr.suffix(4000))")
        let last = try #require(text.split(separator: "\n").last, "no output: \(out.stderr.suffix(4000))")
        return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
    }
}
