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
