import DeliveryCore
import DeliveryEngine
import RelayConfig

extension RelayNode {
    /// The delivery engine's tunables taken from the `delivery` section of `config`: timeouts,
    /// lease, retry schedule and jitter, NOTIFY default, CA file, MX port, in-flight bound, circuit
    /// breaker, broken-TLS memory, per-provider shaping, adaptive throttle, and source addresses
    /// with warm-up (warm `sourceAddresses` plus cold `warmup.addresses`). Cluster wiring
    /// (`preferredOwner`) is left to the caller. Without `delivery.caFile` the engine's own default
    /// (the `SENDARIX_TEST_CA_FILE` environment variable, else the system store) stays. Pure; does
    /// not block; any thread may call it. `config` should be validated (ranges are not rechecked).
    public static func deliveryOptions(_ config: RelayConfig) -> DeliveryEngine.Options {
        let d = config.delivery
        var options = DeliveryEngine.Options()
        options.connectTimeout = d.connectTimeoutSeconds
        options.replyTimeoutCap = d.commandTimeoutSeconds
        options.idleTimeout = d.idleTimeoutSeconds
        options.leaseSeconds = Double(d.leaseSeconds)
        options.retrySteps = d.retrySchedule.map(Double.init)
        options.retryJitter = d.retryJitter
        options.notifyByDefault = d.notifyByDefault
        if let ca = d.caFile { options.caFile = ca }
        options.mxPort = UInt16(clamping: d.mxPort)
        options.maxInFlight = d.maxInFlight
        options.schedulerQoS = d.schedulerPriority == "default" ? .default : d.schedulerPriority == "utility" ? .utility : .background
        options.rateLimitStaticRoutes = d.rateLimitStaticRoutes
        options.breakerThreshold = d.circuitBreaker.failureThreshold
        options.breakerOpenSeconds = Double(d.circuitBreaker.openSeconds)
        options.breakerMaxOpenSeconds = Double(d.circuitBreaker.maxOpenSeconds)
        options.brokenTLSSeconds = Double(d.brokenTLSSeconds)
        options.shaping = shapingConfiguration(d.shaping)
        var throttle = options.throttle
        throttle.slowdownFactor = d.throttle.slowdownFactor
        throttle.minimumFactor = d.throttle.minimumFactor
        throttle.suspendLevel = max(1, d.throttle.suspendLevel)
        throttle.suspendDuration = Double(d.throttle.suspendSeconds)
        throttle.maxSuspendDuration = Double(d.throttle.maxSuspendSeconds)
        throttle.recoveryInterval = Double(max(1, d.throttle.recoverySeconds))
        options.throttle = throttle
        if !d.warmup.dailyCaps.isEmpty { options.warmupDailyCaps = d.warmup.dailyCaps }
        return options
    }

    /// `delivery.shaping` as the delivery core's shaping configuration; provider names and TLS
    /// versions are the same strings on both sides (validated by RelayConfig). Pure; any caller.
    public static func shapingConfiguration(_ shaping: RelayConfig.Delivery.Shaping) -> ShapingPolicy.Configuration {
        func convert(_ o: RelayConfig.Delivery.Shaping.Override) -> ShapingPolicy.Override {
            ShapingPolicy.Override(maxConnections: o.maxConnections, maxMessagesPerConnection: o.maxMessagesPerConnection,
                                   messagesPerSecond: o.messagesPerSecond, connectionsPerSecond: o.connectionsPerSecond,
                                   minimumTLS: o.minimumTLS.flatMap(ShapingPolicy.TLSVersion.init(rawValue:)))
        }
        return ShapingPolicy.Configuration(all: shaping.all.map(convert),
                                           providers: shaping.providers.mapValues(convert))
    }
}
