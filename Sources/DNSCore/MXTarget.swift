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
