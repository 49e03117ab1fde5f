@testable import ClusterLog
import NetworkIO
import Foundation
import SpoolStore
import Synchronization

/// An in-process cluster of `RaftLog`s on 127.0.0.1 port-0 listeners, each node with its own
/// temp directory (spool + raft). Used by one test; nodes can be stopped and restarted from disk.
final class ClusterHarness: @unchecked Sendable {
    // Safe: used only by the test that owns it (one task).
    let root: String
    let names: [String]
    var logs: [String: RaftLog] = [:]
    var stores: [String: SpoolStore] = [:]
    var addresses: [String: String] = [:]
    let secret = Array("test-cluster-secret".utf8)
    let tune: (inout RaftLog.Options) -> Void
    let spoolOptions: SpoolStore.Options
    /// Receives every node's log lines, if set.
    let logLines: LogLines?

    init(nodes: Int, spool: SpoolStore.Options = SpoolStore.Options(mapSize: 1 << 30), logLines: LogLines? = nil,
         tune: @escaping (inout RaftLog.Options) -> Void = { _ in }) throws {
        self.logLines = logLines
        root = FileManager.default.temporaryDirectory.appendingPathComponent("sx-raft-\(UUID().uuidString)").path
        names = (1...nodes).map { "n\($0)" }
        self.tune = tune
        spoolOptions = spool
        for n in names { addresses[n] = "127.0.0.1:0" }
        for n in names { try startNode(n) }
    }

    deinit {
        for (_, l) in logs { l.stop(transferLeadership: false) }
        for (_, s) in stores { s.close() }
        try? FileManager.default.removeItem(atPath: root)
    }

    func options(_ n: String) -> RaftLog.Options {
        var peers: [String: String] = [:]
        for p in names where p != n { peers[p] = addresses[p]!.hasSuffix(":0") ? "127.0.0.1:1" : addresses[p]! }
        var o = RaftLog.Options(nodeID: n, peers: peers, listen: addresses[n]!, secret: secret,
                                directory: "\(root)/\(n)/raft")
        o.tickInterval = 0.05
        // Elections after 1.5–3 s of silence: tolerant of fsync or CPU stalls of the raft loop on a
        // loaded machine (a spurious election fails proposals in flight). The live-set and
        // check-quorum windows (2 × the election timeout) are 3 s.
        o.electionTicks = 30
        // A hang guard: tests expect every proposal of a healthy cluster to commit (12 × 1 MiB, 120
        // enqueues), which on a loaded machine with durable commits can take longer than the
        // default 5 s. Tests that need proposals to fail on time (no quorum, clients that retry)
        // set their own.
        o.proposalTimeout = 30
        tune(&o)
        return o
    }

    /// Opens the node's spool and raft storage and starts it; tells the others its address.
    /// `prepare` sees the log before it starts (e.g. to make it advertise an older format).
    func startNode(_ n: String, prepare: (RaftLog) -> Void = { _ in }) throws {
        let store = try SpoolStore(directory: "\(root)/\(n)/spool", options: spoolOptions)
        var sink: RaftLog.LogSink = { _, _, _ in }
        if let logLines { sink = logLines.sink }
        let log = try RaftLog(options: options(n), store: store, logSink: sink)
        prepare(log)
        let bound = try log.start()
        stores[n] = store
        logs[n] = log
        addresses[n] = bound
        for (other, l) in logs where other != n { l.updatePeer(n, address: bound) }
    }

    /// Stops a node (optionally without leadership transfer, like a crash of the process).
    func stopNode(_ n: String, transfer: Bool = false) {
        logs.removeValue(forKey: n)?.stop(transferLeadership: transfer)
        stores.removeValue(forKey: n)?.close()
    }

    /// Options for a node `name` joining this cluster at runtime: it knows the current members and
    /// starts as a non-voter (the initial voters are the harness nodes).
    func joinerOptions(_ name: String) -> RaftLog.Options {
        var peers: [String: String] = [:]
        for n in names { peers[n] = addresses[n]! }
        var o = RaftLog.Options(nodeID: name, peers: peers, listen: "127.0.0.1:0", secret: secret,
                                directory: "\(root)/\(name)/raft")
        o.tickInterval = 0.05
        o.electionTicks = 30 // as `options(_:)`
        o.initialVoters = names
        return o
    }

    var running: [RaftLog] { names.compactMap { logs[$0] } }

    /// Polls until `condition` holds or `seconds` pass; true if it held.
    func wait(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            usleep(10_000)
        }
        return try condition()
    }

    /// Waits for one running node to lead with the others agreeing; returns its name.
    func awaitLeader(_ seconds: Double = 15) -> String? {
        var found: String?
        _ = wait(seconds) {
            let sts = running.map { $0.status() }
            guard let l = sts.first(where: { $0.isLeader }), l.hasQuorum,
                  sts.allSatisfy({ $0.leader == l.id }) else { return false }
            found = l.id
            return true
        }
        return found
    }

    static func enqueue(_ id: String, size: Int = 200) -> SpoolCommand {
        var body = Array("Subject: t\r\n\r\n".utf8)
        body += [UInt8](repeating: UInt8(ascii: "x"), count: max(0, size - body.count))
        return .enqueue(SpoolCommand.Enqueue(queueID: id, sender: "a@example.com",
                                             recipients: [.init(address: "b@example.org")],
                                             receivedAt: 1_700_000_000_000, body: body))
    }
}

extension RaftLog {
    /// Runs `body` on the log's raft loop (where its internal state lives) and returns the result.
    /// Blocks until it ran; not from the loop itself.
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (RaftLog) -> T) -> T {
        let out = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        LoopBound(self, loop: loop).execute { log in
            let v = body(log)
            out.withLock { $0 = v }
            done.signal()
        }
        done.wait()
        return out.withLock { $0 }!
    }
}

/// Log lines collected across threads (a `RaftLog.LogSink`).
final class LogLines: Sendable {
    let lines = Mutex<[String]>([])
    var sink: RaftLog.LogSink {
        { level, event, fields in
            let f = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            self.lines.withLock { $0.append("\(level) \(event) \(f)") }
        }
    }
    func contains(_ s: String) -> Bool { lines.withLock { $0.contains { $0.contains(s) } } }
}

/// Collects completion results across threads.
final class Results: Sendable {
    let values = Mutex<[Int: Result<UInt64, StoreError>]>([:])
    var count: Int { values.withLock { $0.count } }
    func set(_ i: Int, _ r: Result<UInt64, StoreError>) { values.withLock { $0[i] = r } }
    var all: [Int: Result<UInt64, StoreError>] { values.withLock { $0 } }
}
