extension SMTPSession {
    /// A question the session asks the shell's sending policy (limits, suspended credentials)
    /// before it accepts a sender or a recipient. Pure value; any thread.
    public enum AdmissionCheck: Sendable, Equatable {
        /// MAIL FROM of an authenticated (or trusted) client.
        case mail(user: String?, tenant: String?)
        /// RCPT TO, with `accepted` recipients already accepted for this message.
        case recipient(user: String?, tenant: String?, accepted: Int)
    }

    /// The policy's refusal: the reply to send instead of 250. Pure value; any thread.
    public struct AdmissionRefusal: Sendable, Equatable {
        public var code: Int
        public var enhancedCode: String
        public var text: String
        /// Creates a refusal. Any thread.
        public init(code: Int, enhancedCode: String, text: String) {
            self.code = code
            self.enhancedCode = enhancedCode
            self.text = text
        }
    }

    /// Asks `environment.admission`; nil (go on) when there is none.
    func admissionRefusal(_ check: AdmissionCheck) -> Reply? {
        guard let admission = environment.admission, let r = admission(check) else { return nil }
        let text = String(r.text.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.prefix(400))
        return Reply(r.code, r.enhancedCode, text)
    }
}
