import DeliveryEngine
import Foundation
import RelayConfig
import SpoolStore

extension RelayNode {
    /// Starts the receiver simulator when it is enabled or a user is sandboxed; its reports go to
    /// this node's relay listener (`relay`, "host:port" as bound) or, without one, straight to
    /// `feedback`. Returns nil when not needed. Blocks until listening.
    static func startSimulator(_ config: RelayConfig, feedback: FeedbackProcessor, relay: String?,
                               logger: NodeLogger) throws -> (ReceiverSimulator, UInt16)? {
        let sandboxed = config.users.contains { $0.sandbox }
        guard config.delivery.enabled, config.bounces.simulator.enabled || sandboxed else { return nil }
        // An IPv4 relay listener ("host:port"); others fall back to handing reports over in-process.
        let relayHost = relay.flatMap { r in r.lastIndex(of: ":").map { String(r[..<$0]) } }.flatMap { $0.contains(":") ? nil : $0 }
        let relayPort = relayHost == nil ? nil : relay.flatMap { $0.split(separator: ":").last }.flatMap { UInt16($0) }
        let simulator = ReceiverSimulator(settings: config.bounces.simulator,
                                          feedbackAddress: config.bounces.feedbackAddresses.first, logger: logger) { to, message in
            if let relayHost, let relayPort {
                let reply = ReceiverSimulator.submit(to: to, message: message, host: relayHost, port: relayPort)
                logger.log(.info, "simulator.report_sent", ["to": to, "reply": reply ?? "connection failed"])
            } else {
                feedback.receive([to], message) { ok in
                    logger.log(.info, "simulator.report_processed", ["to": to, "ok": String(ok)])
                }
            }
        }
        let port = try simulator.start()
        logger.log(.info, "listening", ["service": "simulator", "address": "127.0.0.1:\(port)",
                                        "domain": config.bounces.simulator.domain])
        return (simulator, port)
    }

    /// The configuration the delivery engine runs with: the simulator's domain routed to its port.
    static func deliveryConfig(_ config: RelayConfig, simulatorPort: UInt16?) -> RelayConfig {
        guard let simulatorPort, let host = HostPort("127.0.0.1:\(simulatorPort)") else { return config }
        var c = config
        c.routes.insert(RelayConfig.Route(domain: config.bounces.simulator.domain, hosts: [host], tls: .none), at: 0)
        return c
    }

    /// Engine hooks: VERP return paths, sandboxed users' mail to the simulator, the simulator's
    /// suppression-list address.
    static func deliveryHooks(_ config: RelayConfig, feedback: FeedbackProcessor,
                              simulator: ReceiverSimulator?) -> DeliveryEngine.Hooks {
        var hooks = DeliveryEngine.Hooks()
        hooks.returnPath = { message, recipients in feedback.returnPath(message, recipients) }
        guard let simulator else { return hooks }
        let sandboxed = Set(config.users.filter(\.sandbox).map(\.name))
        let domain = config.bounces.simulator.domain
        if !sandboxed.isEmpty {
            hooks.routeDomain = { message, _ in sandboxed.contains(message.authUser) ? domain : nil }
        }
        hooks.simulatedSuppression = { simulator.isSuppressionListAddress($0) }
        return hooks
    }
}
