@testable import RaftCore

/// Synchronous in-memory cluster for targeted unit tests: readies are persisted immediately and
/// messages are delivered in FIFO order until quiet, except on blocked links.
final class TestCluster {
    var nodes: [UInt64: Raft] = [:]
    var storages: [UInt64: RaftMemoryStorage] = [:]
    var applied: [UInt64: [Raft.Entry]] = [:]
    var blocked: Set<[UInt64]> = []
    var queue: [Raft.Message] = []
    var delivered: [Raft.Message] = []
    var dropFilter: ((Raft.Message) -> Bool)? = nil
    var readStates: [UInt64: [Raft.ReadState]] = [:]
    /// The cluster's pre-vote and check-quorum settings, kept by `restart` and `preload`.
    let preVote: Bool
    let checkQuorum: Bool

    init(voters: [UInt64], learners: [UInt64] = [], preVote: Bool = true, checkQuorum: Bool = true,
         configure: (inout Raft.Config) -> Void = { _ in }) {
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        for id in voters + learners {
            let st = RaftMemoryStorage(confState: Raft.ConfState(voters: voters, learners: learners))
            var cfg = Raft.Config(id: id, randomSeed: id * 7919)
            cfg.preVote = preVote
            cfg.checkQuorum = checkQuorum
            configure(&cfg)
            storages[id] = st
            nodes[id] = Raft(config: cfg, storage: st)
            applied[id] = []
        }
    }

    /// Adds a node with an empty log that knows the cluster's current membership (a joining node).
    func addBlankNode(_ id: UInt64, confState: Raft.ConfState) {
        let st = RaftMemoryStorage(confState: confState)
        storages[id] = st
        nodes[id] = Raft(config: Raft.Config(id: id), storage: st)
        applied[id] = []
    }

    func restart(_ id: UInt64, configure: (inout Raft.Config) -> Void = { _ in }) {
        var cfg = Raft.Config(id: id)
        cfg.preVote = preVote
        cfg.checkQuorum = checkQuorum
        configure(&cfg)
        nodes[id] = Raft(config: cfg, storage: storages[id]!)
    }

    func block(_ a: UInt64, _ b: UInt64) { blocked.insert([a, b]); blocked.insert([b, a]) }
    func isolate(_ a: UInt64) { for b in nodes.keys where b != a { block(a, b) } }
    func heal() { blocked = [] }

    /// Persists and applies every pending Ready of `id`, queueing its messages.
    func process(_ id: UInt64) {
        guard let r = nodes[id], let st = storages[id] else { return }
        while r.hasReady {
            let rd = r.ready()
            if let s = rd.snapshot {
                try! st.applySnapshot(s)
                applied[id] = []
            }
            st.append(rd.entries)
            if let hs = rd.hardState { st.setHardState(hs) }
            queue.append(contentsOf: rd.messages)
            readStates[id, default: []].append(contentsOf: rd.readStates)
            for e in rd.committedEntries {
                if e.kind == .confChange {
                    st.setConfState(r.applyConfChange(try! Raft.ConfChange.decode(e.data)))
                }
                applied[id]!.append(e)
            }
            r.advance(rd)
        }
    }

    /// Delivers messages until none are left (bounded).
    func stabilize(maxMessages: Int = 100_000) {
        var n = 0
        for id in nodes.keys.sorted() { process(id) }
        while !queue.isEmpty && n < maxMessages {
            let m = queue.removeFirst()
            n += 1
            if blocked.contains([m.from, m.to]) { continue }
            if let f = dropFilter, f(m) { continue }
            guard let r = nodes[m.to] else { continue }
            delivered.append(m)
            r.step(m)
            process(m.to)
        }
    }

    func tick(_ id: UInt64, _ times: Int = 1) {
        for _ in 0..<times {
            nodes[id]!.tick()
            process(id)
        }
    }

    func tickAll(_ times: Int = 1) {
        for _ in 0..<times {
            for id in nodes.keys.sorted() { nodes[id]!.tick() }
            stabilize()
        }
    }

    /// Makes `id` campaign right away (skipping its timer) and delivers the election.
    func campaign(_ id: UInt64) {
        nodes[id]!.hup(transfer: false)
        stabilize()
    }

    var leaders: [UInt64] { nodes.values.filter { $0.role == .leader }.map(\.id).sorted() }

    func appliedData(_ id: UInt64) -> [[UInt8]] {
        applied[id]!.filter { $0.kind == .normal && !$0.data.isEmpty }.map(\.data)
    }
}

extension TestCluster {
    /// Replaces `id`'s log with entries of the given terms (index 1...), sets its hard state and restarts it.
    func preload(_ id: UInt64, terms: [UInt64], term: UInt64, commit: UInt64 = 0) {
        var ents: [Raft.Entry] = []
        for (i, t) in terms.enumerated() {
            ents.append(Raft.Entry(term: t, index: UInt64(i + 1), data: [UInt8(truncatingIfNeeded: t), UInt8(truncatingIfNeeded: i)]))
        }
        storages[id]!.append(ents)
        storages[id]!.setHardState(Raft.HardState(term: term, vote: 0, commit: commit))
        restart(id)
    }
}
