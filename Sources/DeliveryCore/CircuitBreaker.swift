/// A circuit breaker for one remote host: after `failureThreshold` consecutive failures it opens
/// (no attempts) for `openDuration`, then half-opens to let `halfOpenProbes` attempts through; a
/// probe success closes it, a probe failure re-opens it for twice as long (up to `maxOpenDuration`).
///
/// Time is passed in (seconds since the epoch). Pure value; not thread-safe, the delivery
/// scheduler keeps one per host (e.g. `[String: CircuitBreaker]`).
public struct CircuitBreaker: Sendable, Equatable {
    /// The breaker's state.
    public enum State: Sendable, Equatable {
        /// Attempts flow normally.
        case closed
        /// No attempts until `until`.
        case open(until: Double)
        /// A limited number of probe attempts may run.
        case halfOpen
    }

    /// Consecutive failures that open the breaker.
    public var failureThreshold: Int
    /// First open period (seconds).
    public var openDuration: Double
    /// Longest open period (seconds).
    public var maxOpenDuration: Double
    /// Attempts allowed at once while half-open.
    public var halfOpenProbes: Int

    private var consecutiveFailures = 0
    private var openedUntil: Double = 0
    private var currentOpenDuration: Double
    private var probesInFlight = 0
    private var tripped = false

    /// Creates a closed breaker. Pure; any caller.
    public init(failureThreshold: Int = 5, openDuration: Double = 60, maxOpenDuration: Double = 1_800, halfOpenProbes: Int = 1) {
        self.failureThreshold = max(1, failureThreshold)
        self.openDuration = openDuration
        self.maxOpenDuration = max(openDuration, maxOpenDuration)
        self.halfOpenProbes = max(1, halfOpenProbes)
        self.currentOpenDuration = openDuration
    }

    /// The state at `now`. Pure; any caller.
    public func state(now: Double) -> State {
        guard tripped else { return .closed }
        return now < openedUntil ? .open(until: openedUntil) : .halfOpen
    }

    /// Asks to start an attempt at `now`; true means go ahead (and, while half-open, counts a
    /// probe, so every `true` must be followed by `recordSuccess` or `recordFailure`). Pure.
    public mutating func allowAttempt(now: Double) -> Bool {
        switch state(now: now) {
        case .closed:
            return true
        case .open:
            return false
        case .halfOpen:
            guard probesInFlight < halfOpenProbes else { return false }
            probesInFlight += 1
            return true
        }
    }

    /// An allowed attempt ended without telling anything about the host (a pooled connection
    /// found closed before the server answered): its half-open probe slot is free again, with no
    /// verdict. Without it the slot stayed taken and a half-open host was skipped for good. Pure;
    /// the scheduler calls it.
    public mutating func releaseProbe() {
        probesInFlight = max(0, probesInFlight - 1)
    }

    /// Records a successful attempt: closes the breaker. Pure; the scheduler calls it.
    public mutating func recordSuccess(now: Double) {
        consecutiveFailures = 0
        tripped = false
        probesInFlight = 0
        currentOpenDuration = openDuration
    }

    /// Records a failed attempt (connection failure, timeout, 421 at greeting, ...): may open the
    /// breaker. Pure; the scheduler calls it.
    public mutating func recordFailure(now: Double) {
        if tripped {
            // A failed probe (or a late failure while open) re-opens for longer.
            if now >= openedUntil {
                currentOpenDuration = min(currentOpenDuration * 2, maxOpenDuration)
                openedUntil = now + currentOpenDuration
            }
            probesInFlight = max(0, probesInFlight - 1)
            return
        }
        consecutiveFailures += 1
        if consecutiveFailures >= failureThreshold {
            tripped = true
            probesInFlight = 0
            currentOpenDuration = openDuration
            openedUntil = now + openDuration
        }
    }
}
