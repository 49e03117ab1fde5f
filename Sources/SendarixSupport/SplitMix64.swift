/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seeded `RandomNumberGenerator` that yields
/// the same sequence for the same seed on every platform. For tests, simulations and pure cores
/// that take an injected generator; not for secrets. Value type; never blocks; any thread.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The internal state; advancing it by the golden-ratio increment gives the next output.
    public var state: UInt64

    /// A generator whose state starts at `seed`.
    public init(seed: UInt64) { state = seed }

    /// Same as `init(seed:)`; kept for call sites that name the state.
    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
