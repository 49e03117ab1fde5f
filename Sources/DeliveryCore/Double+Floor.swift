extension Double {
    /// The largest integer not greater than this value, computed without libm's `floor` (a pure
    /// module must link no math library). Infinities clamp to the Int64 range, NaN gives 0.
    /// Pure; any caller.
    var floorInt64: Int64 {
        guard isFinite else { return isNaN ? 0 : (self > 0 ? .max : .min) }
        guard self < 9.2e18, self > -9.2e18 else { return self > 0 ? .max : .min }
        let truncated = Int64(self)
        return Double(truncated) > self ? truncated - 1 : truncated
    }
}
