import CLMDB
import Testing
@testable import SpoolStore
import SendarixSupport

@Suite("Spool store against the pure state machine")
struct SpoolModelTests {
    static let t0: Int64 = 1_700_000_000_000

    /// A random command about one of a few messages, at a clock that moves forward.
    static func randomCommand(_ rng: inout SplitMix64, now: Int64, model: [String: StoredMessage]) -> SpoolCommand {
        let id = "Q\(Int.random(in: 0..<6, using: &rng))"
        let owners = ["n1", "n2", "n3"]
        let attempts = (model[id]?.attempts ?? 0)
        switch Int.random(in: 0..<11, using: &rng) {
        case 0, 1:
            let n = Int.random(in: 1...3, using: &rng)
            return makeEnqueue(id, recipients: (0..<n).map { "r\($0)@\(id).test" }, at: now,
                               body: testBody(size: Int.random(in: 0..<9000, using: &rng), seed: rng.next()))
        case 2, 3, 4:
            let attempt = UInt32(max(0, Int(attempts) + Int.random(in: -1...1, using: &rng)))
            return .claim(.init(queueID: id, owner: owners.randomElement(using: &rng)!, attempt: attempt,
                                issuedAt: now, expiresAt: now + Int64.random(in: 1...50, using: &rng)))
        case 5, 6, 7:
            let recipients = model[id]?.recipients.map(\.address) ?? ["r0@\(id).test"]
            let results = recipients.filter { _ in Bool.random(using: &rng) }.map { r -> SpoolCommand.RecipientResult in
                let d: SpoolCommand.Disposition = [.delivered, .bounced, .suppressed,
                                                   .deferred(until: now + Int64.random(in: 1...40, using: &rng))]
                    .randomElement(using: &rng)!
                return .init(recipient: r, disposition: d, smtpCode: 250)
            }
            let attempt = UInt32(max(0, Int(attempts) + Int.random(in: -1...0, using: &rng)))
            return .outcome(.init(queueID: id, attempt: attempt, timestamp: now, results: results))
        case 8:
            return .reschedule(.init(queueID: id, at: now + Int64.random(in: -5...5, using: &rng)))
        case 9 where Bool.random(using: &rng):
            // A batched pull forward (some gone, some leased, some with another due time than seen).
            let items = (0..<Int.random(in: 1...4, using: &rng)).map { _ -> SpoolCommand.PullForward.Item in
                // Mostly messages a pull can move (no lease, due later), else any.
                let movable = model.values.filter { $0.lease == nil && ($0.nextAttemptAt ?? now) > now }.map(\.queueID).sorted()
                let pick = !movable.isEmpty && Int.random(in: 0..<4, using: &rng) > 0 ? movable.randomElement(using: &rng)!
                    : "Q\(Int.random(in: 0..<7, using: &rng))"
                let seen = model[pick]?.nextAttemptAt ?? now
                return .init(queueID: pick, seen: Int.random(in: 0..<4, using: &rng) > 0 ? seen : seen + 1)
            }
            return .pullForward(.init(at: now, items: items))
        case 9:
            // A batched postpone of a few messages (some gone, some leased, some not due).
            let items = (0..<Int.random(in: 1...4, using: &rng)).map { _ in
                SpoolCommand.Postpone.Item(queueID: "Q\(Int.random(in: 0..<7, using: &rng))",
                                           at: now + Int64.random(in: -5...40, using: &rng))
            }
            return .postpone(.init(issuedAt: now, items: items))
        default:
            return .delete(.init(queueID: id, reason: "random", timestamp: now))
        }
    }

    @Test("random command sequences give the same queue, due index and events in LMDB as in the pure model",
          arguments: [1, 2, 3] as [UInt64])
    func matchesModel(seed: UInt64) throws {
        let dir = TempDirectory()
        let store = try SpoolStore(directory: dir.path)
        var rng = SplitMix64(seed: seed &* 0x9E3779B97F4A7C15)
        var model: [String: StoredMessage] = [:]
        var modelEvents = 0
        var accepted = 0
        var acceptedByKind: [String: Int] = [:]
        var postponedMessages = 0
        var pulledMessages = 0
        var postponedListed = 0
        var index: UInt64 = 0
        var now = Self.t0
        for _ in 0..<120 {
            // A batch of 1...8 commands commits in one transaction, like LocalLog does.
            var entries: [LogEntry] = []
            var expected: [Bool] = []
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                now += Int64.random(in: 0...10, using: &rng)
                index += 1
                let command = Self.randomCommand(&rng, now: now, model: model)
                let t = SpoolMachine.apply(command, current: command.queueID.flatMap { model[$0] }, index: index)
                expected.append(t.rejection == nil)
                if t.rejection == nil {
                    if case .postpone(let p) = command {
                        for item in p.items {
                            if let m = SpoolMachine.postponed(model[item.queueID], at: item.at, issuedAt: p.issuedAt) {
                                model[item.queueID] = m
                                postponedMessages += 1
                            }
                        }
                    }
                    if case .pullForward(let p) = command {
                        for item in p.items {
                            if let m = SpoolMachine.pulledForward(model[item.queueID], at: p.at, seen: item.seen) {
                                model[item.queueID] = m
                                pulledMessages += 1
                            }
                        }
                    }
                    switch t.message {
                    case .put(let m): model[m.queueID] = m
                    case .remove: model[command.queueID!] = nil
                    case .unchanged: break
                    }
                    modelEvents += t.events.count
                    accepted += 1
                    let kind = "\(command)".prefix { $0 != "(" }
                    acceptedByKind[String(kind) + (t.message == .remove ? "-removed" : ""), default: 0] += 1
                }
                entries.append(LogEntry(index: index, term: 0, command: command))
            }
            let results = try store.commit(entries)
            #expect(results.map(\.isSuccess) == expected)

            // Invariants: at most one lease per message, and the stored state equals the model.
            let stored = try store.queueEntries(limit: 100)
            #expect(stored.map(\.queueID) == model.keys.sorted())
            for id in model.keys {
                let m = try store.message(id: id)
                #expect(m == model[id])
                #expect(try store.messageBody(id: id)?.count == model[id]?.bodySize)
            }
            let due = try store.dueMessages(now: .max, limit: 100)
            let modelDue = model.values.sorted {
                ($0.nextAttemptAt!, $0.queueID) < ($1.nextAttemptAt!, $1.queueID)
            }.map(\.queueID)
            #expect(due == modelDue)
            let counts = try store.tableCounts()
            #expect(counts["events"] == modelEvents)
            #expect(counts["bodies"] == model.values.reduce(0) {
                $0 + SpoolStore.segmentCount(bodySize: $1.bodySize, segment: store.options.bodySegmentSize)
            })
            #expect(counts["due"] == model.count)
            // Every postponed-table entry names a queued message under the key it has now: none is
            // left behind by a claim, an outcome, a reschedule, a pull or a removal.
            let listed: [[UInt8]] = try store.read { txn in
                let cursor = try txn.cursor(store.dbPostponed)
                defer { cursor.close() }
                var out: [[UInt8]] = []
                var item = try cursor.get(MDB_FIRST)
                while let cur = item {
                    out.append(Array(cur.key))
                    item = try cursor.get(MDB_NEXT)
                }
                return out
            }
            let current = model.values.reduce(into: Set<[UInt8]>()) { $0.formUnion(SpoolStore.postponedKeys(of: $1)) }
            #expect(listed.allSatisfy { current.contains($0) }, "stale postponed entries")
            postponedListed += listed.count
            #expect(counts["leases"] == model.values.filter { $0.lease != nil }.count)
            for owner in Set(model.values.compactMap { $0.lease?.owner }) {
                #expect(try store.leasedMessages(owner: owner, limit: 100)
                        == model.values.filter { $0.lease?.owner == owner }.map(\.queueID).sorted())
            }
        }
        #expect(accepted > 60)
        // The sequence exercised the interesting paths, not only rejections.
        #expect(acceptedByKind["claim", default: 0] > 5)
        #expect(acceptedByKind["outcome", default: 0] + acceptedByKind["outcome-removed", default: 0] > 5)
        #expect(acceptedByKind["outcome-removed", default: 0] > 0)
        #expect(acceptedByKind["delete-removed", default: 0] > 0)
        #expect(postponedMessages > 0, "some postpone moved a message")
        #expect(pulledMessages > 0, "some pull moved a message")
        #expect(postponedListed > 0, "some postponed message was listed")
        #expect(try store.lastApplied().index == index)
        store.close()
    }
}
