import SpoolStore

/// An independent, deliberately plain reference for the spool's per-message, per-recipient
/// lifecycle, written from the rules (DESIGN §3 events; leases and attempts as documented on
/// `SpoolCommand`) rather than from `SpoolMachine`: messages are dictionaries of recipient states,
/// and every event ever produced is kept per queue id and recipient. Used to check `SpoolMachine`
/// and `SpoolStore` step by step.
struct ReferenceSpool {
    enum State: Equatable {
        case pending, deferred, delivered, bounced, suppressed, failed

        var isTerminal: Bool { self == .delivered || self == .bounced || self == .suppressed || self == .failed }
    }

    struct Recipient: Equatable {
        var address: String
        var state: State
        var due: Int64
    }

    struct Lease: Equatable {
        var owner: String
        var attempt: UInt32
        var expiresAt: Int64
    }

    struct Message: Equatable {
        var recipients: [Recipient]
        var attempts: UInt32 = 0
        var lease: Lease?
    }

    /// What a command produced: accepted or not, and the events as (kind, recipient, timestamp).
    struct Outcome: Equatable {
        var accepted: Bool
        var events: [Emitted] = []
    }

    struct Emitted: Equatable, CustomStringConvertible {
        var kind: Event.Kind
        var recipient: String
        var at: Int64
        var description: String { "\(kind) \(recipient) @\(at)" }
    }

    /// Messages in the queue.
    private(set) var live: [String: Message] = [:]
    /// Every event per queue id, per recipient address, in order.
    private(set) var history: [String: [String: [Event.Kind]]] = [:]
    /// Recipient addresses of every message ever enqueued, per queue id.
    private(set) var enqueued: [String: [String]] = [:]

    /// Applies one command; returns whether it is accepted and the events it produces.
    mutating func apply(_ command: SpoolCommand) -> Outcome {
        let outcome: Outcome
        switch command {
        case .enqueue(let e): outcome = enqueue(e)
        case .claim(let c): outcome = claim(c)
        case .outcome(let o): outcome = result(o)
        case .delete(let d): outcome = delete(d)
        case .reschedule(let r): outcome = reschedule(r)
        default: outcome = Outcome(accepted: true)
        }
        if let id = command.queueID {
            for e in outcome.events { history[id, default: [:]][e.recipient, default: []].append(e.kind) }
        }
        return outcome
    }

    private mutating func enqueue(_ e: SpoolCommand.Enqueue) -> Outcome {
        let validID = !e.queueID.isEmpty && e.queueID.utf8.count <= 255
        guard live[e.queueID] == nil, validID, !e.recipients.isEmpty, !e.bodyElided else { return Outcome(accepted: false) }
        live[e.queueID] = Message(recipients: e.recipients.map { Recipient(address: $0.address, state: .pending, due: e.receivedAt) })
        enqueued[e.queueID] = e.recipients.map(\.address)
        return Outcome(accepted: true, events: e.recipients.map { Emitted(kind: .accepted, recipient: $0.address, at: e.receivedAt) })
    }

    private mutating func claim(_ c: SpoolCommand.Claim) -> Outcome {
        guard var m = live[c.queueID], c.expiresAt > c.issuedAt else { return Outcome(accepted: false) }
        let held = m.lease.map { $0.expiresAt > c.issuedAt } ?? false
        if held {
            // Only the holder may renew (same attempt) or start its next attempt.
            let lease = m.lease!
            guard lease.owner == c.owner, c.attempt == lease.attempt || c.attempt == m.attempts + 1 else {
                return Outcome(accepted: false)
            }
        } else {
            guard c.attempt == m.attempts + 1 else { return Outcome(accepted: false) }
            // Without any lease something must be due; an expired lease is claimable as is.
            if m.lease == nil && !m.recipients.contains(where: { !$0.state.isTerminal && $0.due <= c.issuedAt }) {
                return Outcome(accepted: false)
            }
        }
        m.attempts = max(m.attempts, c.attempt)
        m.lease = Lease(owner: c.owner, attempt: c.attempt, expiresAt: c.expiresAt)
        live[c.queueID] = m
        return Outcome(accepted: true)
    }

    private mutating func result(_ o: SpoolCommand.Outcome) -> Outcome {
        guard var m = live[o.queueID], let lease = m.lease, lease.attempt == o.attempt, m.attempts == o.attempt else {
            return Outcome(accepted: false)
        }
        var events: [Emitted] = []
        for r in o.results {
            let i = m.recipients.firstIndex { $0.address == r.recipient }
                ?? m.recipients.firstIndex { $0.address.lowercased() == r.recipient.lowercased() }
            guard let i, !m.recipients[i].state.isTerminal else { continue }
            let kind: Event.Kind
            switch r.disposition {
            case .delivered: (m.recipients[i].state, kind) = (.delivered, .delivered)
            case .bounced: (m.recipients[i].state, kind) = (.bounced, .bounced)
            case .suppressed: (m.recipients[i].state, kind) = (.suppressed, .suppressed)
            case .deferred(let until):
                (m.recipients[i].state, kind) = (.deferred, .deferred)
                m.recipients[i].due = until
            }
            events.append(Emitted(kind: kind, recipient: m.recipients[i].address, at: o.timestamp))
        }
        m.lease = nil
        live[o.queueID] = m.recipients.allSatisfy(\.state.isTerminal) ? nil : m
        return Outcome(accepted: true, events: events)
    }

    private mutating func delete(_ d: SpoolCommand.Delete) -> Outcome {
        guard let m = live.removeValue(forKey: d.queueID) else { return Outcome(accepted: false) }
        return Outcome(accepted: true, events: m.recipients.filter { !$0.state.isTerminal }
            .map { Emitted(kind: .failed, recipient: $0.address, at: d.timestamp) })
    }

    private mutating func reschedule(_ r: SpoolCommand.Reschedule) -> Outcome {
        guard var m = live[r.queueID] else { return Outcome(accepted: false) }
        for i in m.recipients.indices where !m.recipients[i].state.isTerminal { m.recipients[i].due = r.at }
        live[r.queueID] = m
        return Outcome(accepted: true)
    }
}
