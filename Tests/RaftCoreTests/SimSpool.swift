import RaftCore

/// Toy spool state machine driven by the Raft simulation: enqueue message ids, claim delivery
/// leases with an expiry, record outcomes. Deterministic: the proposer stamps its clock into each
/// command. Keeps the lease history so the simulation can verify that leases never overlap.
struct SimSpool: Equatable {
    enum Command: Equatable {
        case enqueue(id: UInt32)
        case claim(id: UInt32, node: UInt8, now: UInt32, expiry: UInt32)
        case outcome(id: UInt32, node: UInt8, now: UInt32)

        func encode() -> [UInt8] {
            var w = WireWriter(capacity: 16)
            switch self {
            case .enqueue(let id):
                w.byte(1); w.varint(UInt64(id))
            case .claim(let id, let node, let now, let expiry):
                w.byte(2); w.varint(UInt64(id)); w.byte(node); w.varint(UInt64(now)); w.varint(UInt64(expiry))
            case .outcome(let id, let node, let now):
                w.byte(3); w.varint(UInt64(id)); w.byte(node); w.varint(UInt64(now))
            }
            return w.bytes
        }

        static func decode(_ bytes: [UInt8]) -> Command? {
            var r = WireReader(bytes[...])
            do {
                switch try r.byte() {
                case 1: return .enqueue(id: UInt32(try r.varint()))
                case 2: return .claim(id: UInt32(try r.varint()), node: try r.byte(), now: UInt32(try r.varint()),
                                      expiry: UInt32(try r.varint()))
                case 3: return .outcome(id: UInt32(try r.varint()), node: try r.byte(), now: UInt32(try r.varint()))
                default: return nil
                }
            } catch {
                return nil
            }
        }
    }

    struct Lease: Equatable {
        var node: UInt8
        var start: UInt32
        var expiry: UInt32
    }

    struct Message: Equatable {
        var leases: [Lease] = []
        var delivered = false
        var deliveredBy: UInt8 = 0
    }

    var messages: [UInt32: Message] = [:]
    var applied: UInt64 = 0

    /// Applies a committed command (duplicates are idempotent); returns a violation description if the
    /// command breaks the spool's own rules.
    mutating func apply(_ data: [UInt8], index: UInt64) -> String? {
        applied = index
        guard !data.isEmpty, let cmd = Command.decode(data) else { return nil }
        switch cmd {
        case .enqueue(let id):
            if messages[id] == nil { messages[id] = Message() }
        case .claim(let id, let node, let now, let expiry):
            guard var m = messages[id], !m.delivered else { return nil }
            if let last = m.leases.last, last.expiry > now { return nil }
            m.leases.append(Lease(node: node, start: now, expiry: expiry))
            messages[id] = m
        case .outcome(let id, let node, let now):
            guard var m = messages[id], !m.delivered, let lease = m.leases.last else { return nil }
            guard lease.node == node, lease.expiry > now, now >= lease.start else { return nil }
            m.delivered = true
            m.deliveredBy = node
            messages[id] = m
        }
        return nil
    }

    /// Number of leases on `id` unexpired at time `t`.
    func unexpiredLeases(_ id: UInt32, at t: UInt32) -> Int {
        messages[id]?.leases.filter { $0.start <= t && t < $0.expiry }.count ?? 0
    }

    func encode() -> [UInt8] {
        var w = WireWriter(capacity: 64 + messages.count * 16)
        w.varint(applied)
        w.varint(UInt64(messages.count))
        for id in messages.keys.sorted() {
            let m = messages[id]!
            w.varint(UInt64(id))
            w.byte(m.delivered ? 1 : 0)
            w.byte(m.deliveredBy)
            w.varint(UInt64(m.leases.count))
            for l in m.leases {
                w.byte(l.node); w.varint(UInt64(l.start)); w.varint(UInt64(l.expiry))
            }
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(Raft.Error) -> SimSpool {
        var s = SimSpool()
        if bytes.isEmpty { return s }
        var r = WireReader(bytes[...])
        s.applied = try r.varint()
        let n = try r.varint()
        for _ in 0..<n {
            let id = UInt32(try r.varint())
            var m = Message()
            m.delivered = try r.byte() == 1
            m.deliveredBy = try r.byte()
            let leases = try r.varint()
            for _ in 0..<leases {
                m.leases.append(Lease(node: try r.byte(), start: UInt32(try r.varint()), expiry: UInt32(try r.varint())))
            }
            s.messages[id] = m
        }
        return s
    }
}
