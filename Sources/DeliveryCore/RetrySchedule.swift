/// When to retry a deferred message: exponential backoff with jitter over a step table
/// (default 1, 5, 15, 30 min, 1 h, 2 h, 4 h, then every 4 h) bounded by a maximum queue lifetime
/// (default 5 days). Past the lifetime the message expires and becomes a hard bounce.
///
/// Times are seconds since the Unix epoch supplied by the caller; randomness comes from the
/// caller's generator. Pure value; any thread may use it.
public struct RetrySchedule: Sendable, Equatable {
    /// What to do after a failed attempt.
    public enum Decision: Sendable, Equatable {
        /// Try again at this time (seconds since the epoch).
        case retry(at: Double)
        /// The message outlived its queue lifetime: bounce it (hard, class `timeout`).
        case expire
    }

    /// Delays after the 1st, 2nd, ... failed attempt, in seconds; the last repeats.
    public var steps: [Double]
    /// Longest a message may stay queued, in seconds.
    public var maxLifetime: Double
    /// Relative jitter applied to each delay: 0.1 means +/-10%.
    public var jitter: Double
    /// Seconds before an attempt this node ended itself is tried again (see `retryAfterLocalAbort`).
    public var localRetryDelay: Double

    /// Creates a schedule. Empty `steps` fall back to the defaults. Pure; any caller.
    public init(steps: [Double] = RetrySchedule.defaultSteps, maxLifetime: Double = 5 * 86_400, jitter: Double = 0.1,
                localRetryDelay: Double = RetrySchedule.defaultLocalRetryDelay) {
        self.steps = steps.isEmpty ? RetrySchedule.defaultSteps : steps
        self.maxLifetime = maxLifetime
        self.jitter = max(0, min(jitter, 0.9))
        self.localRetryDelay = max(0, localRetryDelay)
    }

    /// 5 seconds: long enough for a leader change or a short stall to pass, short enough that the
    /// receiver, which said nothing, does not see the message late.
    public static let defaultLocalRetryDelay: Double = 5

    /// 1, 5, 15, 30 minutes, 1, 2, 4 hours.
    public static let defaultSteps: [Double] = [60, 300, 900, 1_800, 3_600, 7_200, 14_400]

    /// The nominal delay (before jitter) after `failedAttempts` failures (1-based). Pure.
    public func baseDelay(afterFailedAttempts failedAttempts: Int) -> Double {
        steps[min(max(failedAttempts, 1), steps.count) - 1]
    }

    /// Decides the next attempt after `failedAttempts` failures of a message queued at `queuedAt`.
    /// A `hint` (seconds the receiver asked to wait, e.g. greylisting) replaces the step delay when
    /// larger than zero and is only ever lengthened by jitter. The retry never goes past the expiry time; once `now` reaches it the
    /// message expires. Pure; any caller.
    public func next<G: RandomNumberGenerator>(failedAttempts: Int, queuedAt: Double, now: Double,
                                               hint: Int? = nil, using generator: inout G) -> Decision {
        let expiresAt = queuedAt + maxLifetime
        guard now < expiresAt else { return .expire }
        var delay = baseDelay(afterFailedAttempts: failedAttempts)
        if let hint, hint > 0 {
            // Never retry before the receiver's requested wait: jitter only upwards.
            delay = Double(hint)
            if jitter > 0 { delay *= 1 + Double.random(in: 0...jitter, using: &generator) }
        } else if jitter > 0 {
            delay *= 1 + Double.random(in: -jitter...jitter, using: &generator)
        }
        return .retry(at: min(now + max(delay, 1), expiresAt))
    }

    /// When to try again after an attempt this node ended itself before the receiver had the
    /// message (its delivery lease ran out: a slow commit, a leader change, a partition):
    /// `localRetryDelay` with jitter (at least a second, as `next`), whatever the attempts so far,
    /// since the receiver's answer is still unknown. Never past the expiry time; once that has
    /// passed, at once (the next attempt bounces the message for its age). Pure; any caller.
    public func retryAfterLocalAbort<G: RandomNumberGenerator>(queuedAt: Double, now: Double,
                                                              using generator: inout G) -> Double {
        var delay = localRetryDelay
        if jitter > 0 { delay *= 1 + Double.random(in: -jitter...jitter, using: &generator) }
        return min(now + max(delay, 1), max(now, queuedAt + maxLifetime))
    }

    /// True when a message queued at `queuedAt` has outlived its lifetime at `now`. Pure.
    public func isExpired(queuedAt: Double, now: Double) -> Bool {
        now >= queuedAt + maxLifetime
    }
}
