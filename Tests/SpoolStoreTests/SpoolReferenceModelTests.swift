import SendarixSupport
import Testing
@testable import SpoolStore

/// `SpoolMachine` (pure) and `SpoolStore` (LMDB) against `ReferenceSpool`, an independent model,
/// over seeded random command sequences, compared after every command; plus the lifecycle
/// properties on the events the machine produced.
@Suite("Spool machine and store against an independent reference model")
struct SpoolReferenceModelTests {
    static let t0: Int64 = 1_700_000_000_000

    /// Random commands: new messages (fresh queue ids), duplicates, invalid enqueues, claims with
    /// right and wrong attempts/owners, outcomes naming known, re-cased and unknown recipients,
    /// reschedules and deletes, on live and on gone messages.
    struct Generator {
        var rng: SplitMix64
        var next = 0
        var now = SpoolReferenceModelTests.t0

        mutating func command(_ model: ReferenceSpool) -> SpoolCommand {
            now += Int64.random(in: 0...10, using: &rng)
            let known = Array(model.enqueued.keys).sorted()
            let live = Array(model.live.keys).sorted()
            func pick() -> String {
                if !live.isEmpty && Int.random(in: 0..<10, using: &rng) < 8 { return live.randomElement(using: &rng)! }
                return known.randomElement(using: &rng) ?? "none"
            }
            switch Int.random(in: 0..<20, using: &rng) {
            case 0...3:
                next += 1
                let id = "M\(next)"
                let n = Int.random(in: 1...4, using: &rng)
                return makeEnqueue(id, recipients: (0..<n).map { "r\($0)@\(id).test" }, at: now)
            case 4:
                let roll = Int.random(in: 0..<3, using: &rng)
                if roll == 0 { return makeEnqueue(pick(), at: now) } // duplicate (or a gone id)
                next += 1
                return makeEnqueue(roll == 1 ? "M\(next)" : "", recipients: roll == 1 ? [] : ["x@y.test"], at: now)
            case 5...9:
                let id = pick()
                let m = model.live[id]
                let attempts = Int(m?.attempts ?? 0)
                let attempt = UInt32(max(0, attempts + Int.random(in: -1...1, using: &rng)))
                let owner = m?.lease?.owner != nil && Bool.random(using: &rng)
                    ? m!.lease!.owner : ["n1", "n2", "n3"].randomElement(using: &rng)!
                return .claim(.init(queueID: id, owner: owner, attempt: attempt, issuedAt: now,
                                    expiresAt: now + Int64.random(in: -2...40, using: &rng)))
            case 10...15:
                let id = pick()
                let m = model.live[id]
                var names = (m?.recipients.map(\.address) ?? ["r0@\(id).test"]).filter { _ in Int.random(in: 0..<3, using: &rng) > 0 }
                if Int.random(in: 0..<6, using: &rng) == 0, let first = names.first { names.append(first.uppercased()) }
                if Int.random(in: 0..<8, using: &rng) == 0 { names.append("stranger@\(id).test") }
                let results = names.map { r -> SpoolCommand.RecipientResult in
                    let d: SpoolCommand.Disposition = [.delivered, .bounced, .suppressed,
                                                       .deferred(until: now + Int64.random(in: 1...40, using: &rng))]
                        .randomElement(using: &rng)!
                    return .init(recipient: r, disposition: d, smtpCode: 250)
                }
                let attempt = m?.lease?.attempt ?? UInt32(max(0, Int(m?.attempts ?? 0) + Int.random(in: -1...1, using: &rng)))
                return .outcome(.init(queueID: id, attempt: Int.random(in: 0..<8, using: &rng) == 0 ? attempt &+ 1 : attempt,
                                      timestamp: now, results: results))
            case 16, 17:
                return .reschedule(.init(queueID: pick(), at: now + Int64.random(in: -5...20, using: &rng)))
            default:
                return .delete(.init(queueID: pick(), reason: "random", timestamp: now))
            }
        }
    }

    static func state(_ s: StoredMessage.Status) -> ReferenceSpool.State {
        switch s {
        case .pending: .pending
        case .deferred: .deferred
        case .delivered: .delivered
        case .bounced: .bounced
        case .suppressed: .suppressed
        case .failed: .failed
        }
    }

    static func terminal(_ k: Event.Kind) -> Bool { k == .delivered || k == .bounced || k == .suppressed || k == .failed }

    /// The stored record in the model's terms.
    static func view(_ m: StoredMessage) -> ReferenceSpool.Message {
        ReferenceSpool.Message(
            recipients: m.recipients.map { ReferenceSpool.Recipient(address: $0.address, state: state($0.status), due: $0.nextAttemptAt) },
            attempts: m.attempts,
            lease: m.lease.map { ReferenceSpool.Lease(owner: $0.owner, attempt: $0.attempt, expiresAt: $0.expiresAt) })
    }

    /// The lifecycle properties on one recipient's event kinds; nil when they hold, else why not.
    /// `gone`: the message has left the queue, so the recipient must have reached its terminal event.
    static func lifecycleProblem(_ kinds: [Event.Kind], gone: Bool) -> String? {
        guard kinds.first == .accepted else { return "does not start with accepted" }
        guard kinds.filter({ $0 == .accepted }).count == 1 else { return "accepted twice" }
        let terminals = kinds.filter(terminal)
        guard terminals.count <= 1 else { return "\(terminals.count) terminal events" }
        if let t = kinds.firstIndex(where: terminal), t != kinds.count - 1 { return "events after the terminal one" }
        guard kinds.dropFirst().allSatisfy({ $0 == .deferred || terminal($0) }) else { return "unexpected kind" }
        if gone && terminals.count != 1 { return "left the queue without a terminal event" }
        return nil
    }

    @Test("every step: machine and store agree with the reference; each recipient: accepted first, one terminal event last, nothing after",
          arguments: [11, 12, 13, 14] as [UInt64])
    func againstReference(seed: UInt64) throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        defer { store.close() }
        var generator = Generator(rng: SplitMix64(seed: seed))
        var model = ReferenceSpool()
        var machine: [String: StoredMessage] = [:]
        var machineHistory: [String: [String: [Event.Kind]]] = [:]
        var index: UInt64 = 0
        var acceptedCommands: [String: Int] = [:]

        func step(_ command: SpoolCommand) throws {
            index += 1
            let id = command.queueID!
            let t = SpoolMachine.apply(command, current: machine[id], index: index)
            let expected = model.apply(command)
            // The machine's decision and events equal the reference's.
            #expect((t.rejection == nil) == expected.accepted, "#\(index) \(command): machine \(String(describing: t.rejection)), model \(expected.accepted)")
            let emitted = t.events.map { ReferenceSpool.Emitted(kind: $0.type, recipient: $0.recipient, at: $0.timestampMillis) }
            #expect(emitted == expected.events, "#\(index) \(command)")
            #expect(t.events.allSatisfy { $0.queueId == id })
            if t.rejection == nil {
                switch t.message {
                case .put(let m): machine[id] = m
                case .remove: machine[id] = nil
                case .unchanged: break
                }
                for e in t.events { machineHistory[id, default: [:]][e.recipient, default: []].append(e.type) }
                acceptedCommands["\(command)".prefix { $0 != "(" }.description, default: 0] += 1
            }
            // The store applies the same command the same way.
            let results = try store.commit([LogEntry(index: index, term: 0, command: command)])
            #expect(results.map(\.isSuccess) == [expected.accepted], "#\(index) \(command)")

            // After every step: the machine's records and the store's equal the model, for every id.
            for known in model.enqueued.keys {
                let want = model.live[known]
                #expect(machine[known].map(Self.view) == want, "#\(index) machine record of \(known)")
                #expect(try store.message(id: known).map(Self.view) == want, "#\(index) stored record of \(known)")
            }
            #expect(try store.queueEntries(limit: 1000).map(\.queueID) == model.live.keys.sorted())
            // Lifecycle properties on the machine's own events.
            for (qid, recipients) in model.enqueued {
                for r in recipients {
                    let kinds = machineHistory[qid]?[r] ?? []
                    if let problem = Self.lifecycleProblem(kinds, gone: machine[qid] == nil) {
                        Issue.record("#\(index) \(qid) \(r): \(problem): \(kinds)")
                    }
                }
            }
        }

        for _ in 0..<400 { try step(generator.command(model)) }
        // Deleting whatever is left gives every recipient ever enqueued exactly one terminal event.
        for id in model.live.keys.sorted() {
            generator.now += 1
            try step(.delete(.init(queueID: id, reason: "end", timestamp: generator.now)))
        }
        #expect(machine.isEmpty && model.live.isEmpty)
        for (qid, recipients) in model.enqueued {
            for r in recipients {
                #expect((machineHistory[qid]?[r] ?? []).filter(Self.terminal).count == 1, "\(qid) \(r)")
            }
            // The store's events for the message: the same kinds per recipient, in order.
            let stored = try store.events(EventQuery(queueId: qid, limit: 1000)).reversed()
            var byRecipient: [String: [Event.Kind]] = [:]
            for e in stored { byRecipient[e.recipient, default: []].append(e.type) }
            #expect(byRecipient == machineHistory[qid] ?? [:], "stored events of \(qid)")
            #expect(byRecipient == model.history[qid] ?? [:], "model events of \(qid)")
        }
        // The sequence exercised every path, not only rejections.
        #expect(model.enqueued.count > 30)
        for kind in ["enqueue", "claim", "outcome", "reschedule", "delete"] {
            #expect(acceptedCommands[kind, default: 0] > 3, "\(kind): \(acceptedCommands)")
        }
        let kinds = machineHistory.values.flatMap { $0.values.flatMap { $0 } }
        for kind in [Event.Kind.delivered, .deferred, .bounced, .suppressed, .failed] {
            #expect(kinds.contains(kind), "no \(kind) event in the run")
        }
    }
}
