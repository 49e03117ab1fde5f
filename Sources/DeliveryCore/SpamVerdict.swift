import Foundation

/// rspamd's answer to `/checkv2` and what it means for a message (issue 11): the score decides
/// between deliver, tag, hold (quarantine) and reject by the configured thresholds. Pure value; any thread.
public struct SpamVerdict: Sendable, Equatable {
    /// What to do with the message.
    public enum Disposition: Sendable, Equatable {
        case deliver
        /// Deliver with these header lines added at the top (each ending CRLF).
        case tag(headers: String)
        /// Keep it in the quarantine until an operator releases or deletes it.
        case hold
        /// Refuse at the end of DATA (`550 5.7.1`, this reason).
        case reject(reason: String)
    }

    /// Thresholds (nil: that action is never taken).
    public struct Thresholds: Sendable, Equatable {
        public var tag: Double?, hold: Double?, reject: Double?
        /// Creates thresholds. Any thread.
        public init(tag: Double?, hold: Double?, reject: Double?) {
            self.tag = tag
            self.hold = hold
            self.reject = reject
        }
    }

    /// The score rspamd gave.
    public var score: Double
    /// rspamd's own action (`no action`, `add header`, `reject`, …), for logs.
    public var action: String
    /// The symbols that matched, sorted.
    public var symbols: [String]

    /// Creates a verdict. Any thread.
    public init(score: Double, action: String, symbols: [String]) {
        self.score = score
        self.action = action
        self.symbols = symbols
    }

    private struct Body: Decodable {
        var score: Double
        var action: String?
        var symbols: [String: AnyDecodable]?
    }
    private struct AnyDecodable: Decodable { init(from decoder: Decoder) throws {} }

    /// Parses a `/checkv2` JSON body; nil when it is not one (no numeric `score`).
    public init?(rspamdJSON bytes: [UInt8]) {
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(bytes)), body.score.isFinite else { return nil }
        self.init(score: body.score, action: body.action ?? "", symbols: (body.symbols ?? [:]).keys.sorted())
    }

    /// The disposition for `thresholds`: the strongest action whose threshold the score reaches.
    public func disposition(_ t: Thresholds) -> Disposition {
        let shown = String(format: "%.2f", score)
        if let r = t.reject, score >= r {
            return .reject(reason: "Message rejected as spam (score \(shown)\(symbols.isEmpty ? "" : ": " + symbols.prefix(5).joined(separator: ", ")))")
        }
        if let h = t.hold, score >= h { return .hold }
        if let g = t.tag, score >= g {
            return .tag(headers: "X-Spam: yes\r\nX-Spam-Score: \(shown)\r\nX-Spam-Symbols: \(symbols.prefix(20).joined(separator: ", "))\r\n")
        }
        return .deliver
    }
}
