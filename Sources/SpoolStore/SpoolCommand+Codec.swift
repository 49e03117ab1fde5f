import Registry
extension SpoolCommand {
    /// The newest encoding format this build reads and writes (the first byte of every command;
    /// see `SpoolCommand+Version` for what each version adds and how a cluster picks the one it
    /// writes). `SENDARIX_TEST_FORMAT_VERSION` lowers it, for tests of mixed-version clusters.
    public static let formatVersion: UInt8 = testFormatOverride ?? 6

    private enum Tag: UInt8 {
        case enqueue = 1, claim = 2, outcome = 3, suppress = 4, unsuppress = 5, delete = 6, reschedule = 7, pruneEvents = 8, complaint = 9, registry = 10, asyncBounce = 11
        /// A tenant-scoped prune (per-tenant retention): the prune fields, then the tenant.
        case pruneTenantEvents = 12
        /// A batched postpone (format 4).
        case postpone = 13
        /// A batched postpone whose items carry the due time seen (format 5).
        case postponeSeen = 14
        /// A batched pull forward (format 6).
        case pullForward = 15
    }

    /// Encodes the command: `[version][tag][fields…]`, integers big-endian,
    /// strings and byte runs with 32-bit length prefixes. With `includeBody:
    /// false` an enqueue's body is replaced by its length (for the local log,
    /// whose applied state already holds the body). Pure; any thread.
    ///
    /// `format` is the newest version the readers accept (the cluster's effective version): the
    /// command is written in the oldest version that holds it, at most `format`, dropping what
    /// `format` cannot express (an outcome's sending IP and pool below version 2).
    public func encoded(includeBody: Bool = true, format: UInt8 = SpoolCommand.formatVersion) -> [UInt8] {
        if case .postpone = self, format < 4 { return Self.noOp.encoded(format: format) }
        if case .pullForward = self, format < 6 { return Self.noOp.encoded(format: format) }
        if format < 5, case .registry(.webhook(let w)) = self, w.needsBatchRecords { return Self.noOp.encoded(format: format) }
        var w = BinaryWriter(capacity: includeBody ? approximateSize + 64 : 512)
        let version = encodingVersion(format: format)
        w.u8(version)
        switch self {
        case .enqueue(let e):
            w.u8(Tag.enqueue.rawValue)
            w.string(e.queueID)
            w.string(e.messageID)
            w.string(e.tenant)
            w.string(e.authUser)
            w.string(e.clientIP)
            w.string(e.sender)
            w.u32(UInt32(e.recipients.count))
            for r in e.recipients {
                w.string(r.address)
                w.u8(r.notify.rawValue)
                w.string(r.originalRecipient)
            }
            w.i64(e.receivedAt)
            w.u8(e.bodyType.rawValue)
            w.u32(e.flags.rawValue)
            w.string(e.dsnEnvelopeID)
            w.u8(e.dsnReturn.rawValue)
            if includeBody && !e.bodyElided {
                w.u8(1)
                w.blob(e.body)
            } else {
                w.u8(0)
                w.u64(UInt64(e.bodyElided ? e.elidedBodySize : e.body.count))
            }
        case .claim(let c):
            w.u8(Tag.claim.rawValue)
            w.string(c.queueID)
            w.string(c.owner)
            w.u32(c.attempt)
            w.i64(c.issuedAt)
            w.i64(c.expiresAt)
            w.u64(c.incarnation)
        case .outcome(let o):
            w.u8(Tag.outcome.rawValue)
            w.string(o.queueID)
            w.u32(o.attempt)
            w.i64(o.timestamp)
            w.u32(UInt32(o.results.count))
            for r in o.results {
                w.string(r.recipient)
                switch r.disposition {
                case .delivered: w.u8(0); w.i64(0)
                case .deferred(let until): w.u8(1); w.i64(until)
                case .bounced: w.u8(2); w.i64(0)
                case .suppressed: w.u8(3); w.i64(0)
                }
                w.u16(r.smtpCode)
                w.string(r.enhancedCode)
                w.string(r.response)
                w.string(r.remoteHost)
                w.string(r.bounceClass)
            }
            // Version 2: sending IP and pool trail the results (version 1 outcomes end here).
            if version >= 2 {
                for r in o.results {
                    w.string(r.sendingIP)
                    w.string(r.pool)
                }
            }
        case .suppress(let s):
            w.u8(Tag.suppress.rawValue)
            w.string(s.tenant)
            w.string(s.address)
            w.string(s.reason)
            w.i64(s.createdAt)
        case .unsuppress(let tenant, let address):
            w.u8(Tag.unsuppress.rawValue)
            w.string(tenant)
            w.string(address)
        case .delete(let d):
            w.u8(Tag.delete.rawValue)
            w.string(d.queueID)
            w.string(d.reason)
            w.i64(d.timestamp)
        case .reschedule(let r):
            w.u8(Tag.reschedule.rawValue)
            w.string(r.queueID)
            w.i64(r.at)
        case .complaint(let c):
            w.u8(Tag.complaint.rawValue)
            w.string(c.tenant)
            w.string(c.recipient)
            w.string(c.sender)
            w.string(c.messageID)
            w.string(c.queueID)
            w.string(c.feedback)
            w.i64(c.timestamp)
            w.bool(c.suppress)
        case .asyncBounce(let b):
            w.u8(Tag.asyncBounce.rawValue)
            b.encode(into: &w)
        case .registry(let c):
            w.u8(Tag.registry.rawValue)
            w.blob(c.encoded(format: version))
        case .pruneEvents(let p):
            w.u8((p.tenant == nil ? Tag.pruneEvents : Tag.pruneTenantEvents).rawValue)
            w.i64(p.before)
            w.u32(p.maxCount)
            if let tenant = p.tenant { w.string(tenant) }
        case .postpone(let p):
            let withSeen = version >= 5
            w.u8(withSeen ? Tag.postponeSeen.rawValue : Tag.postpone.rawValue)
            p.encode(into: &w, withSeen: withSeen)
        case .pullForward(let p):
            w.u8(Tag.pullForward.rawValue)
            p.encode(into: &w)
        }
        return w.bytes
    }

    /// Decodes bytes written by ``encoded(includeBody:)``. Throws `.corrupt`
    /// on any malformed, truncated or trailing input, or an unknown version. Any thread.
    public init(decoding bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { buf in
            var r = BinaryReader(buf, what: "spool command")
            return try SpoolCommand(reading: &r)
        }
    }

    /// Decodes one command from a raw buffer (e.g. an LMDB value), which must
    /// hold exactly one command. Any thread.
    public init(decoding buffer: UnsafeRawBufferPointer) throws {
        var r = BinaryReader(buffer, what: "spool command")
        self = try SpoolCommand(reading: &r)
    }

    init(reading r: inout BinaryReader) throws {
        let version = try r.u8()
        guard version >= 1 && version <= Self.formatVersion else { throw Self.versionError(version) }
        guard let tag = Tag(rawValue: try r.u8()) else { throw StoreError.corrupt("spool command tag") }
        switch tag {
        case .enqueue:
            let queueID = try r.string()
            let messageID = try r.string()
            let tenant = try r.string()
            let authUser = try r.string()
            let clientIP = try r.string()
            let sender = try r.string()
            let n = try r.count(minBytesEach: 9)
            var recipients: [Recipient] = []
            recipients.reserveCapacity(n)
            for _ in 0..<n {
                let address = try r.string()
                let notify = Notify(rawValue: try r.u8())
                let orcpt = try r.string()
                recipients.append(Recipient(address: address, notify: notify, originalRecipient: orcpt))
            }
            let receivedAt = try r.i64()
            guard let bodyType = BodyType(rawValue: try r.u8()) else { throw StoreError.corrupt("body type") }
            let flags = Flags(rawValue: try r.u32())
            let envid = try r.string()
            guard let ret = DSNReturn(rawValue: try r.u8()) else { throw StoreError.corrupt("DSN RET") }
            var e = Enqueue(queueID: queueID, messageID: messageID, tenant: tenant, authUser: authUser,
                            clientIP: clientIP, sender: sender, recipients: recipients, receivedAt: receivedAt,
                            bodyType: bodyType, flags: flags, dsnEnvelopeID: envid, dsnReturn: ret, body: [])
            if try r.bool() {
                e.body = try r.blob()
                e.elidedBodySize = e.body.count
            } else {
                e.bodyElided = true
                e.elidedBodySize = Int(try r.u64())
            }
            self = .enqueue(e)
        case .claim:
            var c = Claim(queueID: try r.string(), owner: try r.string(), attempt: try r.u32(),
                          issuedAt: try r.i64(), expiresAt: try r.i64())
            // Claims written before incarnations existed end here.
            if !r.isAtEnd { c.incarnation = try r.u64() }
            self = .claim(c)
        case .outcome:
            let queueID = try r.string()
            let attempt = try r.u32()
            let timestamp = try r.i64()
            let n = try r.count(minBytesEach: 31)
            var results: [RecipientResult] = []
            results.reserveCapacity(n)
            for _ in 0..<n {
                let recipient = try r.string()
                let kind = try r.u8()
                let until = try r.i64()
                let disposition: Disposition
                switch kind {
                case 0: disposition = .delivered
                case 1: disposition = .deferred(until: until)
                case 2: disposition = .bounced
                case 3: disposition = .suppressed
                default: throw StoreError.corrupt("disposition")
                }
                results.append(RecipientResult(recipient: recipient, disposition: disposition, smtpCode: try r.u16(),
                                               enhancedCode: try r.string(), response: try r.string(),
                                               remoteHost: try r.string(), bounceClass: try r.string()))
            }
            // Version 1 outcomes of builds that wrote the trailer without raising the version
            // may carry it too.
            if version >= 2 || !r.isAtEnd {
                for i in results.indices {
                    results[i].sendingIP = try r.string()
                    results[i].pool = try r.string()
                }
            }
            self = .outcome(Outcome(queueID: queueID, attempt: attempt, timestamp: timestamp, results: results))
        case .suppress:
            self = .suppress(Suppression(tenant: try r.string(), address: try r.string(), reason: try r.string(),
                                         createdAt: try r.i64()))
        case .unsuppress:
            self = .unsuppress(tenant: try r.string(), address: try r.string())
        case .delete:
            self = .delete(Delete(queueID: try r.string(), reason: try r.string(), timestamp: try r.i64()))
        case .reschedule:
            self = .reschedule(Reschedule(queueID: try r.string(), at: try r.i64()))
        case .complaint:
            self = .complaint(Complaint(tenant: try r.string(), recipient: try r.string(), sender: try r.string(),
                                        messageID: try r.string(), queueID: try r.string(), feedback: try r.string(),
                                        timestamp: try r.i64(), suppress: try r.bool()))
        case .asyncBounce:
            self = .asyncBounce(try AsyncBounce(decoding: &r))
        case .pruneEvents:
            self = .pruneEvents(PruneEvents(before: try r.i64(), maxCount: try r.u32()))
        case .pruneTenantEvents:
            self = .pruneEvents(PruneEvents(before: try r.i64(), maxCount: try r.u32(), tenant: try r.string()))
        case .postpone:
            guard version >= 4 else { throw StoreError.corrupt("postpone command below format 4") }
            self = .postpone(try Postpone(decoding: &r))
        case .postponeSeen:
            guard version >= 5 else { throw StoreError.corrupt("postpone command (tag 14) below format 5") }
            self = .postpone(try Postpone(decoding: &r, withSeen: true))
        case .pullForward:
            guard version >= 6 else { throw StoreError.corrupt("pull command (tag 15) below format 6") }
            self = .pullForward(try PullForward(decoding: &r))
        case .registry:
            let json = try r.blob()
            do {
                self = .registry(try RegistryCommand(decoding: json))
            } catch {
                throw StoreError.corrupt("registry command: \(error)")
            }
        }
        guard r.isAtEnd else { throw StoreError.corrupt("spool command (trailing bytes)") }
    }
}
