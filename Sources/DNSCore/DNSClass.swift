/// A DNS class number; only `IN` is served, others are carried through. Pure value; any thread.
public struct DNSClass: RawRepresentable, Hashable, Sendable {
    /// The 16-bit class number.
    public var rawValue: UInt16
    /// Wraps a class number.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let `in` = DNSClass(rawValue: 1)
    public static let chaos = DNSClass(rawValue: 3)
    public static let any = DNSClass(rawValue: 255)
}
