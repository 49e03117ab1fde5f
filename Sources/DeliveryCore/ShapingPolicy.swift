/// How hard delivery may push one provider from one source IP: connection and message limits
/// and the minimum TLS version. `ShapingPolicy.defaults(for:)` holds the built-in values;
/// `ShapingPolicy.Override` lets configuration change any subset of them.
///
/// Pure value; any thread may use it.
public struct ShapingPolicy: Sendable, Equatable, Codable {
    /// TLS protocol versions, ordered.
    public enum TLSVersion: String, Sendable, Hashable, Comparable, Codable, CaseIterable {
        /// TLS 1.0.
        case tls1_0 = "1.0"
        /// TLS 1.1.
        case tls1_1 = "1.1"
        /// TLS 1.2.
        case tls1_2 = "1.2"
        /// TLS 1.3.
        case tls1_3 = "1.3"

        /// Version order. Pure; any caller.
        public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// Most simultaneous connections to the provider.
    public var maxConnections: Int
    /// Most messages sent over one connection before it is closed.
    public var maxMessagesPerConnection: Int
    /// Most messages per second.
    public var messagesPerSecond: Double
    /// Most new connections per second.
    public var connectionsPerSecond: Double
    /// The lowest TLS version acceptable when TLS is used; nil means any.
    public var minimumTLS: TLSVersion?

    /// Creates a policy. Pure; any caller.
    public init(maxConnections: Int = 10, maxMessagesPerConnection: Int = 100, messagesPerSecond: Double = 100,
                connectionsPerSecond: Double = 10, minimumTLS: TLSVersion? = nil) {
        self.maxConnections = maxConnections
        self.maxMessagesPerConnection = maxMessagesPerConnection
        self.messagesPerSecond = messagesPerSecond
        self.connectionsPerSecond = connectionsPerSecond
        self.minimumTLS = minimumTLS
    }

    /// Built-in defaults: everyone 10 connections, 100 messages per connection, 100 msg/s and
    /// 10 connections/s; Google and Microsoft 5 connections and 50 messages per connection;
    /// Yahoo 20 messages per connection; Google, Microsoft and Yahoo require TLS 1.2 or newer.
    /// Pure; any caller.
    public static func defaults(for provider: Provider) -> ShapingPolicy {
        var policy = ShapingPolicy()
        switch provider {
        case .google, .microsoft:
            policy.maxConnections = 5
            policy.maxMessagesPerConnection = 50
            policy.minimumTLS = .tls1_2
        case .yahoo:
            policy.maxMessagesPerConnection = 20
            policy.minimumTLS = .tls1_2
        default:
            break
        }
        return policy
    }

    /// A partial policy: every non-nil field replaces the corresponding default.
    public struct Override: Sendable, Equatable, Codable {
        /// Replaces `maxConnections`.
        public var maxConnections: Int?
        /// Replaces `maxMessagesPerConnection`.
        public var maxMessagesPerConnection: Int?
        /// Replaces `messagesPerSecond`.
        public var messagesPerSecond: Double?
        /// Replaces `connectionsPerSecond`.
        public var connectionsPerSecond: Double?
        /// Replaces `minimumTLS`.
        public var minimumTLS: TLSVersion?

        /// Creates an override. Pure; any caller.
        public init(maxConnections: Int? = nil, maxMessagesPerConnection: Int? = nil, messagesPerSecond: Double? = nil,
                    connectionsPerSecond: Double? = nil, minimumTLS: TLSVersion? = nil) {
            self.maxConnections = maxConnections
            self.maxMessagesPerConnection = maxMessagesPerConnection
            self.messagesPerSecond = messagesPerSecond
            self.connectionsPerSecond = connectionsPerSecond
            self.minimumTLS = minimumTLS
        }
    }

    /// This policy with `override`'s non-nil fields applied. Pure; any caller.
    public func merging(_ override: Override?) -> ShapingPolicy {
        guard let override else { return self }
        var result = self
        if let value = override.maxConnections { result.maxConnections = max(1, value) }
        if let value = override.maxMessagesPerConnection { result.maxMessagesPerConnection = max(1, value) }
        if let value = override.messagesPerSecond { result.messagesPerSecond = max(0.001, value) }
        if let value = override.connectionsPerSecond { result.connectionsPerSecond = max(0.001, value) }
        if let value = override.minimumTLS { result.minimumTLS = value }
        return result
    }

    /// Shaping configuration: an override for every provider and one per provider, merged over
    /// the built-in defaults in that order (built-in, then `all`, then the provider's own).
    public struct Configuration: Sendable, Equatable, Codable {
        /// Applied to every provider.
        public var all: Override?
        /// Applied to one provider, keyed by `Provider.rawValue` (e.g. "google").
        public var providers: [String: Override]

        /// Creates a configuration. Pure; any caller.
        public init(all: Override? = nil, providers: [String: Override] = [:]) {
            self.all = all
            self.providers = providers
        }

        /// The effective policy for `provider`. Pure; any caller.
        public func policy(for provider: Provider) -> ShapingPolicy {
            ShapingPolicy.defaults(for: provider).merging(all).merging(providers[provider.rawValue])
        }
    }
}
