import Foundation
import Testing

/// `deploy/lab`: a multi-region cluster in network namespaces (root), 40 ms ± 5 ms between regions
/// through the lab's delaying forwarder, DNS delegated from a parent zone through unbound. Each test
/// brings up its own lab under a unique namespace prefix (`sxlab-<pid>-<random>-`, addresses in
/// 198.18.0.0/15 exist only inside those namespaces) and removes it on every exit path.
@Suite("Multi-region lab in network namespaces (deploy/lab)", .serialized)
struct LabTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// One lab: `up` in init, `down` by the caller (defer).
    struct Lab {
        let prefix: String
        let summary: [String: Any]

        /// A hang guard for `lab up` (it returns as soon as the lab is ready): its own limits add
        /// up to 480 s (three nodes started one after another, 120 s each; 60 s for a leader; 60 s
        /// for DNS), plus the namespaces' setup.
        static let upTimeout: Double = 600

        init(_ args: [String]) throws {
            let prefix = "sxlab-\(getpid())-\(UUID().uuidString.prefix(4).lowercased())-"
            self.prefix = prefix
            let out = try run("/bin/bash", [LabTests.root + "/deploy/lab", "--prefix", prefix, "up", "--bin", RelayProcess.binary]
                              + args, timeout: Lab.upTimeout)
            let text = String(decoding: out.stdout, as: UTF8.self)
            guard out.status == 0,
                  let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
                Lab.down(prefix)
                throw LabError(message: "deploy/lab up exited \(out.status): \(text)\n\(out.stderr.suffix(3000))")
            }
            summary = obj
        }

        func down() { Lab.down(prefix) }

        static func down(_ prefix: String) {
            _ = try? run("/bin/bash", [LabTests.root + "/deploy/lab", "--prefix", prefix, "down"], timeout: 60)
        }

        /// Runs a scenario; returns its exit status, output and final JSON line.
        func scenario(_ args: [String], timeout: Double = 120) throws -> (status: Int32, text: String, figures: [String: Any]) {
            let out = try run("/bin/bash", [LabTests.root + "/deploy/lab", "scenario", "--prefix", prefix] + args, timeout: timeout)
            let text = String(decoding: out.stdout, as: UTF8.self)
            print(text)
            let last = text.split(separator: "\n").last.map(String.init) ?? ""
            let figures = (try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]) ?? [:]
            return (out.status, text + out.stderr.suffix(3000), figures)
        }
    }

    struct LabError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Namespaces whose name starts with `prefix`.
    static func namespaces(_ prefix: String) throws -> [String] {
        let out = try run("/usr/sbin/ip", ["netns", "list"])
        return String(decoding: out.stdout, as: UTF8.self).split(separator: "\n")
            .map { String($0.split(separator: " ").first ?? "") }.filter { $0.hasPrefix(prefix) }
    }

    @Test("users in each region resolve the cluster hostname through the delegated zone to their own region's nodes, by resolver address and by ECS; leadership moves to a named member on request; down removes every namespace")
    func regionalDNS() throws {
        let lab = try Lab(["--layout", "3n2r"])
        defer { lab.down() }
        #expect(try Self.namespaces(lab.prefix).count == 8)  // router, dns, mta, 3 nodes, 2 user networks
        let r = try lab.scenario(["dns"])
        #expect(r.status == 0, "\(r.text)")
        let byResolver = r.figures["resolverAddress"] as? [String: [String]]
        let byECS = r.figures["ecs"] as? [String: [String]]
        #expect(byResolver == ["r1": ["198.18.1.11", "198.18.1.12"], "r2": ["198.18.2.13"]])
        #expect(byECS == ["r1": ["198.18.1.11", "198.18.1.12"], "r2": ["198.18.2.13"]])
        // POST /v1/cluster/leader: the leader hands leadership to each named member in turn (every
        // node agrees), and a follower asked to do it answers 409.
        let t = try lab.scenario(["transfer"])
        #expect(t.status == 0, "\(t.text)")
        let moves = t.figures["moves"] as? [[String: Any]] ?? []
        #expect(moves.count >= 2)
        #expect(moves.allSatisfy { ($0["answer"] as? [String: Any])?["ok"] as? Bool == true && $0["allAgreeSeconds"] is Double })
        #expect(t.figures["followerAnswer"] as? String == "409")
        lab.down()
        #expect(try Self.namespaces(lab.prefix).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(lab.prefix)lab"))
    }

    @Test("a region cut off: its users fail over through DNS within the TTL, the majority keeps accepting, the cut-off node answers 4xx, nothing acknowledged is lost")
    func regionCutOff() throws {
        let lab = try Lab(["--layout", "3n2r", "--ttl", "5"])
        defer { lab.down() }
        // The scenario's own limits are hang guards: warmup 3 s + hold 18 s (the probe of the cut-off
        // node, up to 60 s from the hold's middle, can outlast it) + after 4 s + the clients' give-up 60 s + the drain (75 s
        // without a new delivery, 180 s at most) + the lost IDs' diagnostics; it returns as soon as
        // everything acknowledged was delivered.
        let r = try lab.scenario(["partition", "--region", "r2", "--hold", "18", "--after", "4", "--drain", "75",
                                  "--drain-max", "180"], timeout: 480)
        #expect(r.status == 0, "\(r.text)")
        let acked = r.figures["acknowledged"] as? Int ?? -1
        #expect(acked > 0)
        #expect(r.figures["lost"] as? Int == 0, "\(r.figures["lostIDs"] ?? "")")
        #expect((r.figures["delivered"] as? Int ?? -1) >= acked - (r.figures["duplicated"] as? Int ?? 0))
        // At least once: a cut may repeat what was in flight, never a sizeable share.
        #expect((r.figures["duplicated"] as? Int ?? 0) * 10 <= acked)
        #expect((r.figures["majorityAcceptedDuringCut"] as? Int ?? 0) > 0)
        let failover = try #require(r.figures["failoverSeconds"] as? Double, "\(r.text)")
        // The TTL (5 s) after the majority's zone dropped n3 (its health view's staleness window,
        // 10 s at most), plus the client's 2 s connect timeout.
        #expect(failover < 5 + 10 + 2, "\(failover)")
        let minority = r.figures["minorityReplies"] as? [String: String] ?? [:]
        #expect(minority.keys.sorted() == ["n3"])
        #expect(minority["n3"]?.hasPrefix("4") == true, "\(minority)")
    }

    @Test("with cluster.preferredLeaderRegion set, leadership ends up on the preferred region's node and stays there")
    func preferredLeaderRegion() throws {
        let lab = try Lab(["--layout", "3n2r", "--preferred-region", "r2"])
        defer { lab.down() }
        let r = try lab.scenario(["preference", "--region", "r2", "--timeout", "45", "--observe", "4"])
        #expect(r.status == 0, "\(r.text)")
        #expect(r.figures["leader"] as? String == "n3")
    }
}
