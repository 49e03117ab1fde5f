import Foundation
import Testing

/// `cluster/roll`, short: every node of a three-node cluster SIGKILLed in turn (down 2 s, restarted,
/// healthy again) under four retrying SMTP clients, with delivery checked end to end at the script's
/// own receiver. It runs on 127.0.15.1-3 (`--base`, the script writes cluster/up's configs on those
/// addresses) so it shares no address with `DNSClusterTests`' cluster/up on 127.0.0.1-3.
@Suite("Rolling SIGKILL of every node under load (cluster/roll)")
struct RollingKillTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test("every node SIGKILLed in turn under retrying SMTP load: nothing acknowledged is lost, stuck, altered or late")
    func rollingKill() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-roll-it-\(UUID().uuidString)").path
        var env = ProcessInfo.processInfo.environment
        env["SENDARIX_BINARY"] = RelayProcess.binary
        env["SENDARIX_CLUSTER_DIR"] = dir
        defer {
            // cluster/roll stops what it started on every exit path; this covers it being killed.
            _ = try? run("/bin/bash", [Self.root + "/cluster/down", "--purge"], timeout: 120, environment: env)
            try? FileManager.default.removeItem(atPath: dir)
        }
        let out = try run("/bin/bash", [Self.root + "/cluster/roll", "--base", "127.0.15.", "--nodes", "3", "--down", "2",
                                        "--clients", "4", "--dir", dir], timeout: 900, environment: env)
        let text = String(decoding: out.stdout, as: UTF8.self)
        print(text)
        #expect(out.status == 0, "cluster/roll exited \(out.status): \(text)\n\(out.stderr.suffix(4000))")
        let last = try #require(text.split(separator: "\n").last, "no output: \(out.stderr.suffix(4000))")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let count = { (key: String) -> Int in figures["roll." + key] as? Int ?? -1 }
        #expect(count("acknowledged") > 0)
        #expect(count("delivered") == count("acknowledged"))
        #expect(count("lost") == 0)
        #expect(count("stuck") == 0)
        #expect(count("mismatches") == 0)
        #expect(count("late") == 0)
        #expect(count("rejected") == 0)
        // At least once: a kill may repeat a delivery whose outcome had not committed, or a client may
        // resubmit after losing a committed 250, but never a sizeable share of the mail.
        #expect(count("duplicates") >= 0 && count("duplicates") * 10 <= count("acknowledged"),
                "\(count("duplicates")) duplicates for \(count("acknowledged")) acknowledged")
        let kills = figures["roll.kills"] as? [[String: Any]] ?? []
        #expect(kills.map { $0["node"] as? String ?? "" } == ["n1", "n2", "n3"])
        #expect(kills.allSatisfy { ($0["undelivered"] as? Int) == 0 })
    }
}
