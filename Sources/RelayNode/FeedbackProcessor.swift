import DeliveryCore
import DeliveryEngine
import Foundation
import Registry
import RelayConfig
import SMTPCore
import SendarixCrypto
import SendarixSupport
import SpoolStore
import Synchronization

/// Asynchronous bounces and complaints: makes the VERP envelope sender each delivery leaves with,
/// verifies recipients at bounce domains on the relay port (a valid VERP or feedback address is
/// accepted, anything else at a bounce domain refused with 550 5.1.1), and turns what arrives there
/// (RFC 3464 DSNs, free-text NDRs, ARF/JMRP complaints, auto replies) into `bounced`, `deferred`
/// and `complained` events, suppressions, and DSNs for original senders that asked for them.
///
/// Thread-safe. `receive` parses and looks up on a worker queue, never on an event loop.
final class FeedbackProcessor: Sendable {
    let config: RelayConfig
    let store: SpoolStore
    let log: any ReplicatedLog
    let logger: NodeLogger
    let hostname: String
    private let key: [UInt8]
    private let worker = DispatchQueue(label: "sendarix.feedback")
    /// Woken after a DSN to an original sender was queued (set once delivery runs).
    let delivery = Mutex<DeliveryEngine?>(nil)

    /// Loads (or creates) the VERP key. Blocks on file I/O.
    init(config: RelayConfig, store: SpoolStore, log: any ReplicatedLog, logger: NodeLogger, hostname: String) throws {
        self.config = config
        self.store = store
        self.log = log
        self.logger = logger
        self.hostname = hostname
        self.key = Digest.hmacSHA256(key: try Self.keyMaterial(config), Array("sendarix-verp-v1".utf8))
    }

    /// `bounces.keyFile`, else the cluster secret, else `dataDir/bounce.key` (created once).
    static func keyMaterial(_ config: RelayConfig) throws -> [UInt8] {
        if let file = config.bounces.keyFile { return Array(try Data(contentsOf: URL(fileURLWithPath: file))) }
        if let secret = config.cluster.secret, !config.cluster.peers.isEmpty { return Array(secret.utf8) }
        let path = config.node.dataDir + "/bounce.key"
        if let data = FileManager.default.contents(atPath: path), data.count >= 32 { return Array(data) }
        let hex = Digest.randomBytes(32).map { String(format: "%02x", $0) }.joined() + "\n"
        try RelayConfig.writeSecret(hex, to: path)
        return Array(hex.utf8)
    }

    /// The keyed hash behind VERP tags.
    func mac(_ data: [UInt8]) -> [UInt8] { Digest.hmacSHA256(key: key, data) }

    // MARK: Outbound: the return path

    /// The VERP address for a transaction of `message` to `recipients`; nil for the null sender,
    /// for bounces, or when VERP is off.
    func returnPath(_ message: StoredMessage, _ recipients: [StoredMessage.RecipientState]) -> String? {
        guard config.bounces.verp, !message.sender.isEmpty, !message.flags.contains(.isBounce) else { return nil }
        let index = recipients.count == 1
            ? message.recipients.firstIndex { $0.address == recipients[0].address } : nil
        let notify = recipients.contains { $0.notify.contains(.failure) }
        let verp = VERPAddress(queueID: message.queueID, recipientIndex: index, notifySender: notify,
                               domain: bounceDomain(forSender: message.sender))
        return verp.encoded(mac: mac)
    }

    /// `bounces.domain`, else the sending domain's (or its nearest registered parent's) return
    /// path, else `bounces.<sender domain>`.
    func bounceDomain(forSender sender: String) -> String {
        if let d = config.bounces.domain { return d }
        let senderDomain = String(sender.split(separator: "@").last ?? "").lowercased()
        var name = senderDomain
        while name.contains(".") {
            if let d = (try? store.registryRecord(RegistryKeys.domain(name)))??.domain { return d.returnPath }
            name = String(name.drop { $0 != "." }.dropFirst())
        }
        return "bounces.\(senderDomain)"
    }

    // MARK: Inbound: RCPT verification

    /// True for an address this processor takes (valid VERP, feedback address), false for a forged
    /// VERP address or (with `bounces.verp`) any other address at a bounce domain, nil for anything
    /// else. Reads the registry.
    func recipientCheck(_ address: String) -> Bool? {
        let lower = address.lowercased()
        if config.bounces.feedbackAddresses.contains(lower) { return true }
        switch VERPAddress.decode(lower, mac: mac) {
        case .success: return true
        case .failure(.badTag): return false
        case .failure(.notVERP): break
        }
        guard config.bounces.verp else { return nil }
        let domain = String(lower.split(separator: "@").last ?? "")
        return isBounceDomain(domain) ? false : nil
    }

    /// `bounces.domain`, any sending domain's return path, or a `bounces.` name.
    func isBounceDomain(_ domain: String) -> Bool {
        if domain == config.bounces.domain || domain.hasPrefix("bounces.") { return true }
        let records = (try? store.registryRecords(prefix: RegistryKeys.domainPrefix)) ?? []
        return records.contains { $0.domain?.returnPath == domain }
    }

    /// Splits an envelope's recipients into those this processor takes and the rest.
    func split(_ recipients: [SMTPSession.Recipient]) -> (mine: [String], others: [SMTPSession.Recipient]) {
        var mine: [String] = []
        var others: [SMTPSession.Recipient] = []
        for r in recipients {
            if recipientCheck(r.address.address) == true { mine.append(r.address.address) } else { others.append(r) }
        }
        return (mine, others)
    }

    // MARK: Inbound: reports

    /// What became of a received report (for the log and tests).
    enum Handled: Equatable {
        case bounces(Int), complaint, autoReply, unmatched(String)
    }

    /// Processes `message` sent to `recipients` (VERP or feedback addresses) on a worker; calls
    /// `done` with true once its commands committed (false: the log refused; the client retries).
    func receive(_ recipients: [String], _ message: [UInt8], done: @escaping @Sendable (Bool) -> Void) {
        worker.async { [self] in
            let commands = recipients.flatMap { process(to: $0, message) }
            guard !commands.isEmpty else { return done(true) }
            let group = DispatchGroup()
            let failed = Failures()
            for c in commands {
                group.enter()
                log.propose(c) { result in
                    if case .failure(let e) = result {
                        failed.note()
                        self.logger.log(.warning, "feedback.propose_failed", ["error": "\(e)"])
                    }
                    group.leave()
                }
            }
            group.notify(queue: worker) {
                if commands.contains(where: { if case .enqueue = $0 { return true } else { return false } }) { self.delivery.withLock { $0 }?.wake() }
                done(!failed.any)
            }
        }
    }

    final class Failures: @unchecked Sendable {
        // Safe: only touched under the lock.
        private var count = 0
        private let lock = NSLock()
        func note() { lock.lock(); count += 1; lock.unlock() }
        var any: Bool { lock.lock(); defer { lock.unlock() }; return count > 0 }
    }

    /// The commands one report to one address leads to. Pure apart from store reads.
    func process(to address: String, _ bytes: [UInt8]) -> [SpoolCommand] {
        let now = WallClock.nowMillis()
        let entity = MailEntity(parsing: bytes)
        let verp = try? VERPAddress.decode(address, mac: mac).get()
        if let complaint = FeedbackReport(entity: entity) {
            return complaintCommands(complaint, verp: verp, now: now)
        }
        guard let verp else {
            logger.log(.info, "feedback.unrecognised", ["to": address])
            return []
        }
        let report = BounceReport(entity: entity)
        guard let original = OriginalMessage(queueID: verp.queueID, store: store) else {
            logger.log(.warning, "feedback.unknown_message", ["queueId": verp.queueID, "kind": report.kind.rawValue])
            return []
        }
        switch report.kind {
        case .autoReply:
            logger.log(.info, "feedback.auto_reply", ["queueId": verp.queueID, "to": address])
            return []
        case .unknown:
            logger.log(.info, "feedback.unrecognised", ["queueId": verp.queueID, "to": address])
            return []
        case .dsn, .nonStandard:
            break
        }
        var commands: [SpoolCommand] = []
        var notices: [DSNBuilder.RecipientOutcome] = []
        for r in report.recipients where r.isFailure {
            // The recipient: the one the report names when it is one of the message's, else the one
            // the (tag-checked) VERP address names, else the only one.
            let named = [r.address, r.originalRecipient].first { a in !a.isEmpty && original.recipients.contains { $0.lowercased() == a } }
            guard let recipient = named.flatMap({ a in original.recipients.first { $0.lowercased() == a } })
                    ?? verp.recipientIndex.flatMap({ $0 < original.recipients.count ? original.recipients[$0] : nil })
                    ?? (original.recipients.count == 1 ? original.recipients[0] : nil) else {
                logger.log(.warning, "feedback.unknown_recipient", ["queueId": verp.queueID, "recipient": r.address])
                continue
            }
            let classification = r.classify()
            let permanent = !r.isTransient
            // As in delivery: a hard address class, at RCPT TO or with no stage named (a DSN's
            // per-recipient status); a refusal at MAIL FROM or of the whole message suppresses nobody.
            let suppress = permanent && classification.suppressesRecipient
            let status = r.status?.description ?? ""
            let response = StoredReply.bounded(r.diagnostic.isEmpty ? "\(r.effectiveCode) \(status)" : r.diagnostic, maxBytes: 1024)
            commands.append(.asyncBounce(SpoolCommand.AsyncBounce(
                tenant: original.tenant, recipient: recipient, sender: original.sender, messageID: original.messageID,
                queueID: verp.queueID, permanent: permanent, smtpCode: UInt16(clamping: r.effectiveCode),
                enhancedCode: status, response: response, remoteHost: r.remoteMTA.isEmpty ? report.reportingMTA : r.remoteMTA,
                bounceClass: classification.bounceClass.rawValue, timestamp: now, suppress: suppress)))
            if permanent && verp.notifySender {
                notices.append(DSNBuilder.RecipientOutcome(
                    recipient: recipient, reply: SMTPReply(r.effectiveCode, r.status, response),
                    remoteMTA: r.remoteMTA.isEmpty ? nil : r.remoteMTA, lastAttempt: Double(now) / 1000))
            }
        }
        logger.log(.info, "feedback.bounce", ["queueId": verp.queueID, "kind": report.kind.rawValue,
                                              "recipients": String(commands.count)])
        if !notices.isEmpty, !original.sender.isEmpty, let dsn = senderNotice(original, notices, now: now) {
            commands.append(dsn)
        }
        return commands
    }

    /// A complaint: tied by the VERP address it came to (or quotes as Original-Mail-From), else by
    /// the complaining recipient's `accepted` events carrying the quoted Message-ID.
    func complaintCommands(_ report: FeedbackReport, verp: VERPAddress?, now: Int64) -> [SpoolCommand] {
        let quoted = try? VERPAddress.decode(report.originalMailFrom, mac: mac).get()
        var original = (verp ?? quoted).flatMap { OriginalMessage(queueID: $0.queueID, store: store) }
        if original == nil, !report.recipient.isEmpty, !report.originalMessageID.isEmpty {
            let accepted = (try? store.events(EventQuery(recipient: report.recipient, type: .accepted, limit: 200))) ?? []
            if let e = accepted.first(where: { $0.messageId == report.originalMessageID }) {
                original = OriginalMessage(queueID: e.queueId, store: store)
            }
        }
        guard let original else {
            // Yahoo CFL reports by DKIM domain: without the message, the signing domain still names
            // the tenant, whose list the complaining recipient goes on.
            if !report.dkimDomain.isEmpty, !report.recipient.isEmpty,
               let domain = (try? store.registryRecord(RegistryKeys.domain(report.dkimDomain)))??.domain {
                logger.log(.info, "feedback.complaint", ["dkimDomain": domain.name, "recipient": report.recipient,
                                                         "reporter": report.reporter])
                return [.complaint(SpoolCommand.Complaint(tenant: domain.tenant, recipient: report.recipient,
                                                          messageID: report.originalMessageID,
                                                          feedback: "\(report.feedbackType) (\(report.reporter), d=\(domain.name))",
                                                          timestamp: now, suppress: config.bounces.suppressComplaints))]
            }
            logger.log(.warning, "feedback.complaint_unmatched", ["recipient": report.recipient, "messageId": report.originalMessageID])
            return []
        }
        let index = (verp ?? quoted)?.recipientIndex
        let recipient = original.recipients.first { $0.lowercased() == report.recipient }
            ?? index.flatMap { $0 < original.recipients.count ? original.recipients[$0] : nil }
            ?? (original.recipients.count == 1 ? original.recipients[0] : nil)
        guard let recipient else {
            logger.log(.warning, "feedback.complaint_unmatched", ["queueId": original.queueID, "recipient": report.recipient])
            return []
        }
        logger.log(.info, "feedback.complaint", ["queueId": original.queueID, "recipient": recipient, "reporter": report.reporter])
        let feedback = report.reporter.isEmpty ? report.feedbackType : "\(report.feedbackType) (\(report.reporter))"
        return [.complaint(SpoolCommand.Complaint(tenant: original.tenant, recipient: recipient, sender: original.sender,
                                                  messageID: original.messageID, queueID: original.queueID,
                                                  feedback: feedback, timestamp: now,
                                                  suppress: config.bounces.suppressComplaints))]
    }

    /// The DSN an original sender asked for (NOTIFY=FAILURE) when its message bounced after it left.
    func senderNotice(_ original: OriginalMessage, _ outcomes: [DSNBuilder.RecipientOutcome], now: Int64) -> SpoolCommand? {
        let headers = Array("Message-ID: <\(original.messageID)>\r\n\r\n".utf8)
        let builder = DSNBuilder(reportingMTA: hostname)
        guard let notice = try? builder.build(
            original: DSNBuilder.Original(queueID: original.queueID, mailFrom: original.sender, ret: .headers,
                                          arrivalDate: Double(original.receivedAt) / 1000, message: headers),
            outcomes: outcomes, now: Double(now) / 1000) else { return nil }
        let id = notice.messageID.trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
        return .enqueue(SpoolCommand.Enqueue(
            queueID: "\(original.queueID)-adsn\(now % 1_000_000)", messageID: id, tenant: original.tenant, sender: "",
            recipients: [SpoolCommand.Recipient(address: notice.recipient)], receivedAt: now,
            bodyType: SMTPBody.containsEightBit(notice.message) ? .eightBitMIME : .sevenBit, flags: [.isBounce],
            body: notice.message))
    }
}

/// What is known of a sent message when its bounce or complaint arrives: from the spool while it
/// is queued, else from its `accepted` events (recipients in RCPT order).
struct OriginalMessage {
    var queueID: String
    var tenant: String
    var sender: String
    var messageID: String
    var recipients: [String]
    var receivedAt: Int64

    /// Looks `queueID` up (store reads); nil when neither the message nor its events are known.
    init?(queueID: String, store: SpoolStore) {
        self.queueID = queueID
        if let m = try? store.message(id: queueID) {
            tenant = m.tenant
            sender = m.sender
            messageID = m.messageID
            recipients = m.recipients.map(\.address)
            receivedAt = m.receivedAt
            return
        }
        let events = ((try? store.events(EventQuery(type: .accepted, queueId: queueID, limit: 1_000))) ?? [])
            .filter { $0.type == .accepted }
        guard let first = events.first else { return nil }
        // Event ids are `<log index>-<ordinal>`; the ordinal is the recipient's RCPT position.
        let ordered = events.sorted { Self.ordinal($0.id) < Self.ordinal($1.id) }
        tenant = first.tenant
        sender = first.sender
        messageID = first.messageId
        recipients = ordered.map(\.recipient)
        receivedAt = first.timestampMillis
    }

    static func ordinal(_ id: String) -> Int { Int(id.split(separator: "-").last ?? "") ?? 0 }
}
