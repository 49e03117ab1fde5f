extension BounceClassifier {
    /// Classifies a reply received at SMTP `stage` (nil: unknown, classified as `classify(_:)` does).
    ///
    /// A reply at connect (greeting), EHLO/HELO, STARTTLS, AUTH, RSET or MAIL FROM cannot be about a
    /// recipient, whatever its words or codes say: there an address class is the sender's (a "550 5.1.7
    /// no such domain" or "553 5.1.1 unknown user" at MAIL FROM refuses the envelope sender), so
    /// bad-mailbox and bad-domain become `policy` (the class of sender address and domain rules) and
    /// mailbox-full becomes `other` (the server's own storage), with the hardness of the reply code. The
    /// rule name then ends in "@<stage>". Replies at RCPT, DATA and after the message keep their class;
    /// the result carries `stage`, and `suppressesRecipient` holds only at RCPT (or with no stage), or at
    /// DATA and after the message when the transaction accepted one recipient
    /// (`suppressesRecipient(acceptedRecipients:)`).
    /// Pure; any caller.
    public func classify(_ reply: SMTPReply, at stage: SMTPClientSession.Stage?) -> BounceClassification {
        BounceClassifier.atStage(classify(reply), code: reply.code, stage: stage)
    }

    /// `classification` of a reply with `code` received at `stage`, with the rule of
    /// `classify(_:at:)`: before RCPT TO no address class. Pure; any caller.
    public static func atStage(_ classification: BounceClassification, code: Int,
                               stage: SMTPClientSession.Stage?) -> BounceClassification {
        var result = classification
        result.stage = stage
        guard let stage, BounceClassifier.isSessionStage(stage), code >= 400 else { return result }
        switch result.bounceClass {
        case .badMailbox, .badDomain:
            result.bounceClass = .policy
        case .mailboxFull:
            result.bounceClass = .other
            result.hardness = code >= 500 ? .hard : .soft
        default:
            return result
        }
        result.rule += "@" + stage.rawValue
        return result
    }

    /// True for the stages before RCPT TO (and outside a transaction), whose replies concern the
    /// connection or the sender, never one recipient. Pure; any caller.
    public static func isSessionStage(_ stage: SMTPClientSession.Stage) -> Bool {
        switch stage {
        case .greeting, .hello, .startTLS, .auth, .reset, .mail, .quit, .idle: return true
        case .recipient, .data, .body: return false
        }
    }
}
