import Foundation
import Testing

/// `cluster/nemesis`, short: one fault of each kind (SIGKILL, SIGSTOP pause, iptables partition,
/// clock jump, full disk) on a three-node cluster under four retrying SMTP clients, with delivery
/// checked end to end at the script's own receiver. It runs on 127.0.16.1-3 and the receiver on
/// 127.0.16.50 (`--base`), addresses no other test uses, and its iptables rules live in a chain of
/// its own (`SXNEM_127_0_16`) that the script removes on every exit path.
@Suite("Mixed faults under load (cluster/nemesis)")
struct NemesisTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test("one fault of each kind under retrying SMTP load: nothing acknowledged is lost, stuck or altered")
    func nemesis() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sx-nemesis-it-\(UUID().uuidString)").path
        var env = ProcessInfo.processInfo.environment
        env["SENDARIX_BINARY"] = RelayProcess.binary
        env["SENDARIX_CLUSTER_DIR"] = dir
        defer {
            // cluster/nemesis stops and removes what it set up on every exit path; this covers it
            // being killed: the nodes, the tmpfs of the disk node, the iptables chain, the directory.
            _ = try? run("/bin/bash", [Self.root + "/cluster/down"], timeout: 120, environment: env)
            _ = try? run("/bin/bash", ["-c", "for d in \"$0\"/n*/data; do mountpoint -q \"$d\" && umount -l \"$d\"; done; "
                                       + "iptables -w -D OUTPUT -j SXNEM_127_0_16; iptables -w -F SXNEM_127_0_16; "
                                       + "iptables -w -X SXNEM_127_0_16; true", dir], timeout: 60)
            _ = try? run("/bin/rm", ["-rf", "--one-file-system", dir], timeout: 60)
        }
        let out = try run("/bin/bash", [Self.root + "/cluster/nemesis", "--base", "127.0.16.", "--faults", "5",
                                        "--seed", "15", "--clients", "4", "--clock-hold", "4", "--disk-hold", "6",
                                        "--disk-size", "128", "--dir", dir], timeout: 900, environment: env)
        let text = String(decoding: out.stdout, as: UTF8.self)
        print(text)
        #expect(out.status == 0, "cluster/nemesis exited \(out.status): \(text)\n\(out.stderr.suffix(4000))")
        let last = try #require(text.split(separator: "\n").last, "no output: \(out.stderr.suffix(4000))")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let count = { (key: String) -> Int in figures["nemesis." + key] as? Int ?? -1 }
        #expect(count("acknowledged") > 0)
        #expect(count("delivered") == count("acknowledged"))
        #expect(count("lost") == 0)
        #expect(count("stuck") == 0)
        #expect(count("mismatches") == 0)
        #expect(count("late") == 0)
        #expect(count("rejected") == 0)
        #expect((figures["nemesis.anomalies"] as? [String])?.isEmpty == true, "\(figures["nemesis.anomalies"] ?? "none")")
        // At least once: kills and cut-offs may repeat what was in flight, never a sizeable share.
        #expect(count("duplicates") >= 0 && count("duplicates") * 10 <= count("acknowledged"),
                "\(count("duplicates")) duplicates for \(count("acknowledged")) acknowledged")
        // Every kind ran once, and the full disk was refused with 452 4.3.1, not by a crash.
        let kinds = figures["nemesis.faultCounts"] as? [String: Int] ?? [:]
        #expect(kinds == ["kill": 1, "pause": 1, "partition": 1, "clock": 1, "disk": 1], "\(kinds)")
        let faults = figures["nemesis.faults"] as? [[String: Any]] ?? []
        let disk = try #require(faults.first { $0["kind"] as? String == "disk" })
        #expect(disk["nodeAliveWhileFull"] as? Bool == true)
        #expect(((disk["refusals"] as? [String: Int])?["452 4.3.1"] ?? 0) > 0, "\(disk)")
        // No rule of the run is left behind.
        let rules = try run("/usr/sbin/iptables", ["-w", "-S", "OUTPUT"])
        #expect(!String(decoding: rules.stdout, as: UTF8.self).contains("SXNEM_127_0_16"))
    }
}
