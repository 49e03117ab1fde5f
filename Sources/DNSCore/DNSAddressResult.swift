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
