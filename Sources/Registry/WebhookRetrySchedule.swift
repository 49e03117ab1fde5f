/// When a failed webhook call is tried again: a list of delays (Standard Webhooks / Svix style,
/// 5 s … 24 h, over three days by default) with ± jitter, and `Retry-After` honoured when the
/// receiver asks for longer. Pure: the caller passes the clock and a random number. Any thread.
public struct WebhookRetrySchedule: Sendable, Equatable {
    /// Delay after the 1st, 2nd, … failed attempt, ms.
    public var delaysMillis: [Int64]
    /// Fraction of each delay added or removed at random (0.2: ±20 %).
    public var jitter: Double

    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: about 75 hours in all.
    public static let standardDelaysMillis: [Int64] = [
        5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000,
    ]

    /// Longest `Retry-After` honoured (one day).
    public static let maxRetryAfterMillis: Int64 = 86_400_000

    /// Creates a schedule. Any thread.
    public init(delaysMillis: [Int64] = WebhookRetrySchedule.standardDelaysMillis, jitter: Double = 0.2) {
        self.delaysMillis = delaysMillis.isEmpty ? WebhookRetrySchedule.standardDelaysMillis : delaysMillis
        self.jitter = max(0, min(jitter, 0.9))
    }

    /// What to do after attempt number `attempt` (1-based) failed at `now`.
    public enum Decision: Sendable, Equatable {
        /// Try again at this time (ms since the epoch).
        case retry(at: Int64)
        /// The schedule is used up: the call fails and waits for a replay.
        case giveUp
    }

    /// The decision after failed attempt `attempt` at `now`; `retryAfterMillis` is the receiver's
    /// `Retry-After` (nil when absent); `random` is uniform in 0..<1 (the jitter).
    public func afterFailure(attempt: UInt32, now: Int64, retryAfterMillis: Int64? = nil, random: Double) -> Decision {
        let i = Int(attempt) - 1
        guard i >= 0, i < delaysMillis.count else { return .giveUp }
        let base = Double(delaysMillis[i])
        let factor = 1 + jitter * (2 * min(max(random, 0), 1) - 1)
        var delay = Int64(base * factor)
        if let after = retryAfterMillis { delay = max(delay, min(after, Self.maxRetryAfterMillis)) }
        return .retry(at: now + max(delay, 1))
    }

    /// The sum of the delays without jitter: how long a call is retried before it fails.
    public var totalMillis: Int64 { delaysMillis.reduce(0, +) }
}
