/// Admission control for outbound delivery per provider and source IP: combines the provider's
/// `ShapingPolicy` (from `ShapingPolicy.Configuration`), the `AdaptiveThrottle` built from the
/// receivers' deferrals, token buckets for the message and connection rates, and the count of open
/// connections. The shell asks before opening a connection and before each message, and reports
/// closed connections and classified failures.
///
/// Time is passed in (seconds since the epoch). Pure value; not thread-safe, owned by the delivery
/// scheduler.
public struct DeliveryShaper: Sendable {
    /// One provider as seen from one source IP.
    public typealias Key = AdaptiveThrottle.Key

    /// The answer to a request.
    public enum Admission: Sendable, Equatable {
        /// Go ahead (a connection or message token has been taken).
        case allowed
        /// The rate is exhausted: ask again at this time.
        case wait(until: Double)
        /// The provider suspended this source IP (throttle): nothing until this time.
        case suspended(until: Double)
        /// The connection limit is reached: ask again when a connection closes.
        case atConnectionLimit
    }

    private struct State: Sendable {
        var openConnections = 0
        var messages: RateLimiter
        var connections: RateLimiter
    }

    /// Per-provider policies and overrides.
    public var configuration: ShapingPolicy.Configuration
    /// The adaptive throttle fed by `record`.
    public private(set) var throttle: AdaptiveThrottle
    private var states: [Key: State] = [:]

    /// Creates a shaper. Pure; any caller.
    public init(configuration: ShapingPolicy.Configuration = .init(), throttle: AdaptiveThrottle.Configuration = .init()) {
        self.configuration = configuration
        self.throttle = AdaptiveThrottle(configuration: throttle)
    }

    /// The policy in force for `key` at `now` (after throttling), or nil while suspended. Pure.
    public func policy(for key: Key, now: Double) -> ShapingPolicy? {
        throttle.apply(configuration.policy(for: key.provider), for: key, now: now)
    }

    /// Open connections counted for `key`. Pure; any caller.
    public func openConnections(for key: Key) -> Int {
        states[key]?.openConnections ?? 0
    }

    /// Messages to send over one connection before closing it (at least 1). Pure; any caller.
    public func maxMessagesPerConnection(for key: Key) -> Int {
        max(1, configuration.policy(for: key.provider).maxMessagesPerConnection)
    }

    /// Asks to open a connection for `key` at `now`; `.allowed` counts it as open (report
    /// `connectionClosed` later). Pure; the scheduler calls it.
    public mutating func requestConnection(for key: Key, now: Double) -> Admission {
        admit(key, now: now) { state, policy in
            guard state.openConnections < policy.maxConnections else { return .atConnectionLimit }
            guard state.connections.tryAcquire(now: now) else {
                return .wait(until: now + state.connections.delay(now: now))
            }
            state.openConnections += 1
            return .allowed
        }
    }

    /// Reports that a connection counted by `requestConnection` closed. Pure; the scheduler calls it.
    public mutating func connectionClosed(for key: Key) {
        guard var state = states[key] else { return }
        state.openConnections = max(0, state.openConnections - 1)
        states[key] = state
    }

    /// Asks to send one message for `key` at `now`; `.allowed` takes a message token. Pure.
    public mutating func requestMessage(for key: Key, now: Double) -> Admission {
        admit(key, now: now) { state, _ in
            guard state.messages.tryAcquire(now: now) else {
                return .wait(until: now + state.messages.delay(now: now))
            }
            return .allowed
        }
    }

    /// Checks suspension, brings the key's limiters in line with the effective policy, then lets
    /// `decide` take tokens or slots from the state, which is stored back.
    private mutating func admit(_ key: Key, now: Double, _ decide: (inout State, ShapingPolicy) -> Admission) -> Admission {
        if case .suspended(let until) = throttle.status(for: key, now: now) { return .suspended(until: until) }
        guard let policy = policy(for: key, now: now) else { return .atConnectionLimit }
        var state = prepare(key, policy: policy, now: now)
        let admission = decide(&state, policy)
        states[key] = state
        return admission
    }

    /// Feeds a classified failure (or any classification) for `key` into the throttle. Returns
    /// the throttle status afterwards. Pure; the scheduler calls it.
    @discardableResult
    public mutating func record(_ classification: BounceClassification, for key: Key, now: Double) -> AdaptiveThrottle.Status {
        throttle.record(classification, for: key, now: now)
    }

    /// Forgets idle keys and decayed throttle entries (call now and then). Pure; the owner calls it.
    public mutating func prune(now: Double) {
        throttle.prune(now: now)
        states = states.filter { $0.value.openConnections > 0 || throttle.status(for: $0.key, now: now) != .normal }
    }

    /// The limiter state for `key`, created or re-rated to match `policy`.
    private func prepare(_ key: Key, policy: ShapingPolicy, now: Double) -> State {
        let messageBurst = max(1, policy.messagesPerSecond)
        let connectionBurst = max(1, policy.connectionsPerSecond)
        guard var state = states[key] else {
            return State(messages: RateLimiter(rate: policy.messagesPerSecond, burst: messageBurst, now: now),
                         connections: RateLimiter(rate: policy.connectionsPerSecond, burst: connectionBurst, now: now))
        }
        if state.messages.rate != policy.messagesPerSecond {
            state.messages.reconfigure(rate: policy.messagesPerSecond, burst: messageBurst, now: now)
        }
        if state.connections.rate != policy.connectionsPerSecond {
            state.connections.reconfigure(rate: policy.connectionsPerSecond, burst: connectionBurst, now: now)
        }
        return state
    }
}
