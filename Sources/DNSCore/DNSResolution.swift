/// The outcome of resolving a mail domain's exchangers, as the delivery engine needs it.
/// Pure value; any thread.
public enum DNSResolution: Sendable, Hashable {
    /// Hosts to try in order (already sorted by preference, equal preferences shuffled).
    /// An implicit MX (RFC 5321 §5.1: no MX, but A/AAAA exist) is a single target with
    /// `isImplicit == true` and preference 0.
    case mxTargets([MXTarget])
    /// The domain publishes a null MX (RFC 7505): it accepts no mail. Permanent.
    case nullMX
    /// The domain does not exist (NXDOMAIN). Permanent.
    case nxdomain
    /// The domain exists but has neither MX nor A/AAAA records. Permanent.
    case noMailHost
    /// SERVFAIL, timeouts, unreachable servers, malformed answers, over-long CNAME chains. Retry later.
    case temporaryFailure(String)

    /// True for outcomes that will not change on retry (bounce now).
    public var isPermanentFailure: Bool {
        switch self {
        case .nullMX, .nxdomain, .noMailHost: true
        case .mxTargets, .temporaryFailure: false
        }
    }
}

/// One mail exchanger: host name (lowercase, no trailing dot) and MX preference.
/// Pure value; any thread.
public struct MXTarget: Sendable, Hashable {
    public var host: String
    public var preference: UInt16
    /// True when derived from the domain's own A/AAAA records (no MX published).
    public var isImplicit: Bool

    /// Creates a target. Pure.
    public init(host: String, preference: UInt16, isImplicit: Bool = false) {
        self.host = host
        self.preference = preference
        self.isImplicit = isImplicit
    }
}

/// The addresses of one host (A then AAAA) with the reason when there are none, so the delivery
/// engine can tell "try later" from "this host has no address". Pure value; any thread.
public struct DNSAddressResult: Sendable, Hashable {
    /// IPv4 addresses first, then IPv6, as text.
    public var addresses: [String]
    /// Set when no address was found and at least one lookup failed temporarily.
    public var temporaryFailure: String?
    /// True when the host name does not exist (NXDOMAIN) and no address was found.
    public var nxdomain: Bool

    /// Creates a result. Pure.
    public init(addresses: [String], temporaryFailure: String? = nil, nxdomain: Bool = false) {
        self.addresses = addresses
        self.temporaryFailure = temporaryFailure
        self.nxdomain = nxdomain
    }
}
