/// The spool's deterministic state machine: given a committed command, the
/// current record of the message it names and the command's log index, it
/// returns the new record, the events to record and the suppression change.
///
/// Pure: no clock, no I/O; every time value comes from the command. Identical
/// inputs give identical transitions on every node. ``SpoolStore`` executes
/// the returned ``Transition`` inside its write transaction. Any thread.
public enum SpoolMachine {
    /// Longest queue ID accepted (bytes), so derived LMDB keys stay under 511 bytes.
    public static let maxQueueIDBytes = 255

    /// What applying one command does.
    public struct Transition: Sendable, Equatable {
        /// Change to the message record.
        public enum MessageChange: Sendable, Equatable {
            case unchanged
            /// Store this record (new or updated).
            case put(StoredMessage)
            /// Delete the record and its body.
            case remove
        }

        /// Change to a suppression list.
        public enum SuppressionChange: Sendable, Equatable {
            case add(SpoolCommand.Suppression)
            case remove(tenant: String, address: String)
        }

        public var message: MessageChange = .unchanged
        /// Body bytes to store (enqueue only).
        public var body: [UInt8]? = nil
        public var events: [Event] = []
        public var suppression: SuppressionChange? = nil
        /// Events to prune (the shell deletes the oldest matching ones).
        public var pruneEvents: SpoolCommand.PruneEvents? = nil
        /// Non-nil when the command was refused; then nothing else changes.
        public var rejection: StoreError? = nil

        static func rejected(_ code: StoreError.Code, _ reason: String, _ queueID: String) -> Transition {
            var t = Transition()
            t.rejection = StoreError(code, reason, context: queueID)
            return t
        }
    }

    /// Applies `command` (at log position `index`) to `current`, the stored
    /// record of `command.queueID` (nil when absent). Pure; any thread.
    public static func apply(_ command: SpoolCommand, current: StoredMessage?, index: UInt64) -> Transition {
        switch command {
        case .enqueue(let e): return enqueue(e, current: current, index: index)
        case .claim(let c): return claim(c, current: current)
        case .outcome(let o): return outcome(o, current: current, index: index)
        case .delete(let d): return delete(d, current: current, index: index)
        case .reschedule(let r): return reschedule(r, current: current)
        case .suppress(let s):
            var t = Transition()
            var s = s
            s.address = asciiLowercased(s.address)
            t.suppression = .add(s)
            return t
        case .complaint(let c):
            var t = Transition()
            var ev = Event(id: "\(index)-0", type: .complained, messageId: c.messageID, queueId: c.queueID,
                           tenant: c.tenant, sender: c.sender, recipient: c.recipient, timestampMillis: c.timestamp)
            ev.response = c.feedback
            t.events = [ev]
            if c.suppress {
                t.suppression = .add(SpoolCommand.Suppression(tenant: c.tenant, address: asciiLowercased(c.recipient),
                                                              reason: "complaint", createdAt: c.timestamp))
            }
            return t
        case .asyncBounce(let b):
            return asyncBounce(b, index: index)
        case .pruneEvents(let p):
            var t = Transition()
            t.pruneEvents = p
            return t
        case .postpone, .pullForward:
            // Applied message by message by the store (`SpoolStore+Postpone`, `postponed`, `pulledForward`).
            return Transition()
        case .registry:
            // Applied by `RegistryMachine` (the store routes it there); nothing for messages.
            return Transition()
        case .unsuppress(let tenant, let address):
            var t = Transition()
            t.suppression = .remove(tenant: tenant, address: asciiLowercased(address))
            return t
        }
    }

    static func enqueue(_ e: SpoolCommand.Enqueue, current: StoredMessage?, index: UInt64) -> Transition {
        guard current == nil else { return .rejected(.duplicate, "queue ID already in the spool", e.queueID) }
        guard !e.queueID.isEmpty, e.queueID.utf8.count <= maxQueueIDBytes else {
            return .rejected(.invalidCommand, "queue ID must be 1...\(maxQueueIDBytes) bytes", e.queueID)
        }
        guard !e.recipients.isEmpty else { return .rejected(.invalidCommand, "no recipients", e.queueID) }
        guard !e.bodyElided else {
            return .rejected(.invalidCommand, "enqueue without body cannot be applied", e.queueID)
        }
        let message = StoredMessage(enqueue: e)
        var t = Transition()
        t.message = .put(message)
        t.body = e.body
        t.events.reserveCapacity(e.recipients.count)
        for (i, r) in e.recipients.enumerated() {
            t.events.append(event(.accepted, message, recipient: r.address, index: index, ordinal: i,
                                  at: e.receivedAt))
        }
        return t
    }

    static func claim(_ c: SpoolCommand.Claim, current: StoredMessage?) -> Transition {
        guard var m = current else { return .rejected(.notFound, "no such message", c.queueID) }
        guard c.expiresAt > c.issuedAt else {
            return .rejected(.invalidCommand, "lease must expire after it is issued", c.queueID)
        }
        if let lease = m.lease, lease.expiresAt > c.issuedAt {
            // An unexpired lease exists: only its owner may renew it (same attempt) or
            // supersede it with the next attempt (e.g. after restarting mid-attempt).
            guard lease.owner == c.owner else {
                return .rejected(.leaseConflict, "leased by \(lease.owner) until \(lease.expiresAt)", c.queueID)
            }
            // A later incarnation of the owner (the node restarted) may only supersede the lease
            // with the next attempt: the earlier process's attempt is gone, never renewed.
            let sameProcess = c.incarnation == lease.incarnation
            guard (sameProcess && c.attempt == lease.attempt) || c.attempt == m.attempts &+ 1 else {
                return .rejected(.staleAttempt, "claim by the lease owner names attempt \(c.attempt), current is "
                                 + "\(lease.attempt)" + (sameProcess ? "" : " (held by an earlier incarnation)"),
                                 c.queueID)
            }
            // A renewal never shortens a lease.
            let expiresAt = c.attempt == lease.attempt ? max(lease.expiresAt, c.expiresAt) : c.expiresAt
            m.attempts = max(m.attempts, c.attempt)
            m.lease = StoredMessage.Lease(owner: c.owner, attempt: c.attempt, expiresAt: expiresAt,
                                          incarnation: c.incarnation)
            var t = Transition()
            t.message = .put(m)
            return t
        }
        guard c.attempt == m.attempts &+ 1 else {
            return .rejected(.staleAttempt, "claim names attempt \(c.attempt), next is \(m.attempts &+ 1)", c.queueID)
        }
        if m.lease == nil {
            // A message whose lease expired stays claimable (its due time is the expiry);
            // otherwise some recipient must be due.
            let due = m.recipients.contains { !$0.status.isFinal && $0.nextAttemptAt <= c.issuedAt }
            guard due else { return .rejected(.staleAttempt, "no recipient is due", c.queueID) }
        }
        m.attempts = c.attempt
        m.lease = StoredMessage.Lease(owner: c.owner, attempt: c.attempt, expiresAt: c.expiresAt,
                                      incarnation: c.incarnation)
        var t = Transition()
        t.message = .put(m)
        return t
    }

    static func outcome(_ o: SpoolCommand.Outcome, current: StoredMessage?, index: UInt64) -> Transition {
        guard var m = current else { return .rejected(.notFound, "no such message", o.queueID) }
        guard let lease = m.lease, lease.attempt == o.attempt, o.attempt == m.attempts else {
            return .rejected(.staleAttempt, "outcome for attempt \(o.attempt) but current leased attempt is "
                             + (m.lease.map { String($0.attempt) } ?? "none"), o.queueID)
        }
        var t = Transition()
        t.events.reserveCapacity(o.results.count)
        var ordinal = 0
        for result in o.results {
            guard let i = recipientIndex(result.recipient, in: m.recipients), !m.recipients[i].status.isFinal else {
                continue
            }
            let kind: Event.Kind
            switch result.disposition {
            case .delivered:
                m.recipients[i].status = .delivered
                kind = .delivered
            case .deferred(let until):
                m.recipients[i].status = .deferred
                m.recipients[i].nextAttemptAt = until
                kind = .deferred
            case .bounced:
                m.recipients[i].status = .bounced
                kind = .bounced
            case .suppressed:
                m.recipients[i].status = .suppressed
                kind = .suppressed
            }
            m.recipients[i].lastCode = result.smtpCode
            m.recipients[i].lastEnhancedCode = result.enhancedCode
            m.recipients[i].lastResponse = result.response
            m.recipients[i].lastRemoteHost = result.remoteHost
            m.recipients[i].lastBounceClass = result.bounceClass
            var ev = event(kind, m, recipient: m.recipients[i].address, index: index, ordinal: ordinal, at: o.timestamp)
            ev.smtpCode = Int(result.smtpCode)
            ev.enhancedCode = result.enhancedCode
            ev.response = result.response
            ev.remoteHost = result.remoteHost
            ev.attempt = Int(o.attempt)
            ev.bounceClass = result.bounceClass
            ev.sendingIP = result.sendingIP.isEmpty ? nil : result.sendingIP
            ev.pool = result.pool.isEmpty ? nil : result.pool
            t.events.append(ev)
            ordinal += 1
        }
        m.lease = nil
        t.message = m.isComplete ? .remove : .put(m)
        return t
    }

    static func delete(_ d: SpoolCommand.Delete, current: StoredMessage?, index: UInt64) -> Transition {
        guard let m = current else { return .rejected(.notFound, "no such message", d.queueID) }
        var t = Transition()
        var ordinal = 0
        for r in m.recipients where !r.status.isFinal {
            var ev = event(.failed, m, recipient: r.address, index: index, ordinal: ordinal, at: d.timestamp)
            ev.response = d.reason
            ev.attempt = Int(m.attempts)
            t.events.append(ev)
            ordinal += 1
        }
        t.message = .remove
        return t
    }

    static func reschedule(_ r: SpoolCommand.Reschedule, current: StoredMessage?) -> Transition {
        guard var m = current else { return .rejected(.notFound, "no such message", r.queueID) }
        for i in m.recipients.indices where !m.recipients[i].status.isFinal {
            m.recipients[i].nextAttemptAt = r.at
        }
        var t = Transition()
        t.message = .put(m)
        return t
    }

    static func event(_ kind: Event.Kind, _ m: StoredMessage, recipient: String, index: UInt64, ordinal: Int,
                      at: Int64) -> Event {
        Event(id: "\(index)-\(ordinal)", type: kind, messageId: m.messageID, queueId: m.queueID, tenant: m.tenant,
              sender: m.sender, recipient: recipient, timestampMillis: at)
    }

    static func recipientIndex(_ address: String, in recipients: [StoredMessage.RecipientState]) -> Int? {
        if let i = recipients.firstIndex(where: { $0.address == address }) { return i }
        let lower = asciiLowercased(address)
        return recipients.firstIndex { asciiLowercased($0.address) == lower }
    }

    /// ASCII-only lowercasing (addresses, index keys); leaves non-ASCII bytes alone. Pure.
    public static func asciiLowercased(_ s: String) -> String {
        var s = s
        return s.withUTF8 { utf8 in
            if !utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return String(decoding: utf8, as: UTF8.self) }
            return String(decoding: utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
    }
}
