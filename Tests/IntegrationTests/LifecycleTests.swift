import Foundation
import Testing

/// `cluster/lifecycle`: operator lifecycle steps on a three-node cluster under retrying SMTP load,
/// each through the binary with delivery checked end to end at the script's own receiver. Runs on
/// 127.62.N.1-5 (N per scenario), with the receiver on .50.
@Suite("Operator lifecycle under load (cluster/lifecycle)", .serialized)
struct LifecycleTests {
    /// Runs one scenario; returns its final JSON line after checking the common figures.
    func scenario(_ name: String, base: String, _ extra: [String] = []) throws -> [String: Any] {
        let figures = try ClusterScript.figures("lifecycle", timeout: 600) { dir in
            ["--scenario", name, "--base", base, "--clients", "3", "--warmup", "2", "--settle", "2", "--dir", dir] + extra
        }
        let count = { (key: String) -> Int in figures["lifecycle." + key] as? Int ?? -1 }
        #expect(count("acknowledged") > 0)
        #expect(count("delivered") == count("acknowledged"))
        #expect(count("lost") == 0)
        #expect(count("stuck") == 0)
        #expect(count("mismatches") == 0)
        #expect(count("rejected") == 0)
        #expect((figures["lifecycle.checksFailed"] as? [String]) == [], "\(figures["lifecycle.checksFailed"] ?? "")")
        return figures
    }

    @Test("a node whose disk is lost comes back empty under its old id, catches up before it votes, and then counts: nothing acknowledged lost")
    func replaceDeadMachine() throws {
        let f = try scenario("replace", base: "127.62.1.")
        #expect((f["lifecycle.votersAfterReplace"] as? [String])?.sorted() == ["n1", "n2", "n3"])
        #expect(f["lifecycle.electionAfterSecondKillSeconds"] is Double || f["lifecycle.electionAfterSecondKillSeconds"] is Int)
    }

    @Test("growing 3 -> 5 with cluster add and shrinking back with cluster remove under load loses nothing acknowledged")
    func growAndShrink() throws {
        let f = try scenario("grow", base: "127.62.2.")
        #expect((f["lifecycle.votersGrown"] as? [String])?.sorted() == ["n1", "n2", "n3", "n4", "n5"])
        #expect((f["lifecycle.votersShrunk"] as? [String])?.sorted() == ["n1", "n2", "n3"])
    }

    @Test("a rolling upgrade from a format-1 build: format 1 while any node is old, the newest (6) after, no unreadable entry, nothing lost")
    func rollingUpgrade() throws {
        let f = try scenario("upgrade", base: "127.62.3.")
        let after = f["lifecycle.entryFormatAfter"] as? [String: Int] ?? [:]
        #expect(after == ["n1": 6, "n2": 6, "n3": 6], "\(after)")
    }
}
