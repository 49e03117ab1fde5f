import DeliveryCore

/// Where and how to deliver one recipient domain: the hosts to try in order (each with its
/// addresses), the TLS policy, implicit TLS, smart-host credentials and the provider whose
/// shaping applies. Pure value; any thread.
struct DeliveryRoute: Sendable, Equatable {
    /// One host of the route with its resolved addresses.
    struct Host: Sendable, Equatable {
        /// Host name as configured or published in MX (or an IP literal).
        var name: String
        /// TCP port.
        var port: UInt16
        /// IP addresses to try in order.
        var addresses: [String]
    }

    /// Hosts in the order they are tried.
    var hosts: [Host]
    /// TLS policy for every host.
    var tlsPolicy: SMTPClientSession.TLSPolicy
    /// Connect with TLS from the start (port 465 style).
    var implicitTLS: Bool
    /// AUTH credentials for a smart host.
    var credentials: SMTPClientSession.Credentials?
    /// The provider recognised from the host names (shaping, adaptive throttling).
    var provider: Provider
    /// True for a configured static route (smart host), false for MX delivery.
    var isStatic: Bool
    /// The source address pool the route names (`routes[].pool`); nil: the sender's or the default.
    var pool: String? = nil
    /// The recipient domain's MTA-STS policy in force (enforce or testing; MX routes only).
    var mtaSTS: MTASTSPolicy? = nil

    /// What routing decided for a domain.
    enum Resolution: Sendable, Equatable {
        /// Deliver through this route.
        case route(DeliveryRoute)
        /// Do not connect: every recipient of the domain gets this (local) reply.
        case failure(SMTPReply)
    }
}
