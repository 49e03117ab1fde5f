/// Bounds the remote replies that go into outcome commands (and so into the replicated log and
/// events): a hostile or broken receiver can send up to `SMTPReplyParser`'s limit (megabytes) per
/// reply, and every byte of it would be replicated to every node.
public enum StoredReply {
    /// Longest reply text kept per recipient, in bytes (RFC 5321 §4.5.3.1.5 allows 512 per line;
    /// two lines of context are plenty to classify and show).
    public static let maxBytes = 1_000
    /// Most reply bytes kept for all recipients of one outcome together.
    public static let maxBytesPerOutcome = 64 * 1024

    /// `text` cut to at most `maxBytes` UTF-8 bytes at a character boundary, with a marker saying
    /// how much was dropped. Pure; any caller.
    public static func bounded(_ text: String, maxBytes: Int = StoredReply.maxBytes) -> String {
        let utf8 = text.utf8
        guard utf8.count > maxBytes else { return text }
        let marker = " [\(utf8.count) bytes, truncated]"
        let keep = max(0, maxBytes - marker.utf8.count)
        // Whole Unicode scalars only: never split a UTF-8 sequence.
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in text.unicodeScalars {
            let size = scalar.utf8.count
            guard bytes + size <= keep else { break }
            kept.append(scalar)
            bytes += size
        }
        return String(kept) + marker
    }

    /// The per-recipient limit for an outcome of `recipients` results, so that together they stay
    /// under `maxBytesPerOutcome` (never below 128 bytes each). Pure; any caller.
    public static func perRecipientLimit(recipients: Int) -> Int {
        guard recipients > 0 else { return maxBytes }
        return max(128, min(maxBytes, maxBytesPerOutcome / recipients))
    }
}
