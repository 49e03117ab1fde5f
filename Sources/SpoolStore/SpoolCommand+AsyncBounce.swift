extension SpoolCommand {
    /// A bounce that arrived after the message was accepted by the receiving MX (a DSN or NDR sent to
    /// the message's VERP address), usually once the message has left the queue: the event's fields
    /// come from the message's `accepted` event and the report. Recorded as a `bounced` (failed) or
    /// `deferred` (delayed) event; with `suppress` the recipient also goes on the tenant's list with
    /// reason `hard-bounce`.
    public struct AsyncBounce: Sendable, Equatable {
        public var tenant: String
        public var recipient: String
        /// The original envelope sender.
        public var sender: String
        /// The original message's Message-ID, "" when unknown.
        public var messageID: String
        /// The original queue ID (from the VERP address).
        public var queueID: String
        /// True for a permanent failure (`bounced`), false for a delay (`deferred`).
        public var permanent: Bool
        public var smtpCode: UInt16
        /// RFC 3463 status from the report, "".
        public var enhancedCode: String
        /// The report's diagnostic text.
        public var response: String
        /// The MTA that reported (Remote-MTA / Reporting-MTA), "".
        public var remoteHost: String
        /// Bounce classification (`bad-mailbox` …).
        public var bounceClass: String
        /// When the report was received, ms since epoch.
        public var timestamp: Int64
        /// Also suppress the recipient for the tenant.
        public var suppress: Bool

        /// Creates an asynchronous bounce. Any thread.
        public init(tenant: String, recipient: String, sender: String = "", messageID: String = "", queueID: String,
                    permanent: Bool, smtpCode: UInt16 = 0, enhancedCode: String = "", response: String = "",
                    remoteHost: String = "", bounceClass: String = "", timestamp: Int64, suppress: Bool = false) {
            self.tenant = tenant
            self.recipient = recipient
            self.sender = sender
            self.messageID = messageID
            self.queueID = queueID
            self.permanent = permanent
            self.smtpCode = smtpCode
            self.enhancedCode = enhancedCode
            self.response = response
            self.remoteHost = remoteHost
            self.bounceClass = bounceClass
            self.timestamp = timestamp
            self.suppress = suppress
        }

        func encode(into w: inout BinaryWriter) {
            w.string(tenant)
            w.string(recipient)
            w.string(sender)
            w.string(messageID)
            w.string(queueID)
            w.bool(permanent)
            w.u16(smtpCode)
            w.string(enhancedCode)
            w.string(response)
            w.string(remoteHost)
            w.string(bounceClass)
            w.i64(timestamp)
            w.bool(suppress)
        }

        init(decoding r: inout BinaryReader) throws {
            self.init(tenant: try r.string(), recipient: try r.string(), sender: try r.string(), messageID: try r.string(),
                      queueID: try r.string(), permanent: try r.bool(), smtpCode: try r.u16(), enhancedCode: try r.string(),
                      response: try r.string(), remoteHost: try r.string(), bounceClass: try r.string(),
                      timestamp: try r.i64(), suppress: try r.bool())
        }
    }
}

extension SpoolMachine {
    /// An asynchronous bounce: one `bounced` or `deferred` event, and a suppression when asked.
    static func asyncBounce(_ b: SpoolCommand.AsyncBounce, index: UInt64) -> Transition {
        var t = Transition()
        var ev = Event(id: "\(index)-0", type: b.permanent ? .bounced : .deferred, messageId: b.messageID,
                       queueId: b.queueID, tenant: b.tenant, sender: b.sender, recipient: b.recipient,
                       timestampMillis: b.timestamp)
        ev.smtpCode = b.smtpCode == 0 ? nil : Int(b.smtpCode)
        ev.enhancedCode = b.enhancedCode.isEmpty ? nil : b.enhancedCode
        ev.response = b.response
        ev.remoteHost = b.remoteHost.isEmpty ? nil : b.remoteHost
        ev.bounceClass = b.bounceClass.isEmpty ? nil : b.bounceClass
        t.events = [ev]
        if b.suppress {
            t.suppression = .add(SpoolCommand.Suppression(tenant: b.tenant, address: asciiLowercased(b.recipient),
                                                          reason: "hard-bounce", createdAt: b.timestamp))
        }
        return t
    }
}
