/// An error raised by a DeliveryCore component: a machine-readable `code`, a human `reason`
/// and free-form `context` (the offending value, the state, ...).
///
/// Pure value; any thread may create or inspect it.
public struct DeliveryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for programs.
    public enum Code: String, Sendable, Equatable {
        /// A server reply line did not start with a three digit code.
        case malformedReply = "malformed-reply"
        /// A server reply line exceeded the accepted line length.
        case replyLineTooLong = "reply-line-too-long"
        /// A multi-line server reply had more lines than accepted.
        case replyTooManyLines = "reply-too-many-lines"
        /// A DSN was requested for a message with a null reverse-path.
        case nullSender = "null-sender"
        /// A DSN was requested with no recipient outcomes to report.
        case noRecipients = "no-recipients"
        /// A caller used an API in a state where it is not allowed.
        case invalidState = "invalid-state"
    }

    /// What went wrong, for programs.
    public var code: Code
    /// What went wrong, for people.
    public var reason: String
    /// The value or state involved (may be empty).
    public var context: String

    /// Creates an error. Pure; any caller.
    public init(_ code: Code, _ reason: String, context: String = "") {
        self.code = code
        self.reason = reason
        self.context = context
    }

    /// "code: reason (context)". Pure; any caller.
    public var description: String {
        context.isEmpty ? "\(code.rawValue): \(reason)" : "\(code.rawValue): \(reason) (\(context))"
    }
}
