import Foundation
import Testing

/// `cluster/roll`, short: every node of a three-node cluster SIGKILLed in turn (down 2 s, restarted,
/// healthy again) under four retrying SMTP clients, with delivery checked end to end at the script's
/// own receiver. It runs on 127.0.15.1-3 (`--base`, the script writes cluster/up's configs on those
/// addresses) so it shares no address with `DNSClusterTests`' cluster/up on 127.0.0.1-3.
@Suite("Rolling SIGKILL of every node under load (cluster/roll)")
struct RollingKillTests {
    @Test("every node SIGKILLed in turn under retrying SMTP load: nothing acknowledged is lost, stuck, altered or late")
    func rollingKill() throws {
        let figures = try ClusterScript.figures("roll", timeout: 900) { dir in
            ["--base", "127.0.15.", "--nodes", "3", "--down", "2", "--clients", "4", "--dir", dir]
        }
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
