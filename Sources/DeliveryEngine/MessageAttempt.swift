import DeliveryCore
import SpoolStore
import Synchronization

/// One claimed delivery attempt of one message: the stored record and body, the recipients being
/// tried (grouped into one `DeliveryJob` per domain), and the per-recipient results gathered so
/// far until the outcome command can be proposed.
///
/// Confined to the delivery scheduler's queue.
final class MessageAttempt: @unchecked Sendable {
    // Safe: used only on the scheduler queue; closures merely carry it back there.
    /// A recorded result with what the scheduler needs after the outcome commits.
    struct Recorded {
        var result: SpoolCommand.RecipientResult
        var reply: SMTPReply
        var hard: Bool
        var expired: Bool
        var bounceClass: BounceClass?
        /// Delivered to a receiver that supports DSN: NOTIFY went along, so it reports success.
        var notifyPassedOn = false
        /// The failure may suppress the address (`BounceClassification.suppressesRecipient(acceptedRecipients:)`:
        /// an address class refused at RCPT TO, before any session, or at DATA or after the message of a
        /// transaction that accepted only this recipient; for an expiry,
        /// `suppressesRecipientOnExpiry`: the last deferral named the address itself).
        var suppressesRecipient = false
        /// This node ended the attempt itself (`LocalAbort`): the receiver said nothing, so no
        /// delay notice goes to the sender for it.
        var localAbort = false
    }

    let queueID: String
    /// The attempt number named in the claim.
    let number: UInt32
    /// The record as read when the attempt started.
    var message: StoredMessage
    /// The message bytes.
    var body: [UInt8] = []
    /// When the committed lease ends (ms since epoch): set only by claims and renewals that
    /// committed, never by one merely proposed.
    var leaseExpiresAt: Int64 = 0 {
        didSet { committedLeaseEnd.store(leaseExpiresAt, ordering: .relaxed) }
    }
    /// `leaseExpiresAt`, readable from the event loops' commit gates.
    let committedLeaseEnd = Atomic<Int64>(0)
    /// True while a renewal is proposed and not yet committed or refused.
    var renewing = false
    /// Times the outcome was proposed again after the log had no leader.
    var outcomeRetries = 0
    /// True once the claim committed and delivery began.
    var started = false
    /// Jobs not finished yet.
    var pendingJobs = 0
    /// Results in recording order.
    private(set) var recorded: [Recorded] = []
    private var recordedAddresses: Set<String> = []

    init(queueID: String, number: UInt32, message: StoredMessage) {
        self.queueID = queueID
        self.number = number
        self.message = message
    }

    /// Records a result for `recorded.result.recipient` unless one exists already.
    func record(_ entry: Recorded) {
        let key = SpoolMachine.asciiLowercased(entry.result.recipient)
        guard recordedAddresses.insert(key).inserted else { return }
        recorded.append(entry)
    }

    /// True when `address` has a result.
    func hasResult(_ address: String) -> Bool {
        recordedAddresses.contains(SpoolMachine.asciiLowercased(address))
    }

    /// The stored state of `address`.
    func recipientState(_ address: String) -> StoredMessage.RecipientState? {
        let key = SpoolMachine.asciiLowercased(address)
        return message.recipients.first { SpoolMachine.asciiLowercased($0.address) == key }
    }
}
