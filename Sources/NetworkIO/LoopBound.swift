/// Carries a loop-confined value through a `@Sendable` closure that will run on that same loop
/// (like NIO's `NIOLoopBound`). Reading `value` off the loop traps.
public struct LoopBound<Value>: @unchecked Sendable {
    // Safe: the value is only ever accessed on `loop`'s thread, which `value` checks.
    private let _value: Value
    /// The loop the value belongs to.
    public let loop: EventLoop

    /// Wraps `value`, which must belong to `loop`.
    public init(_ value: Value, loop: EventLoop) {
        self._value = value
        self.loop = loop
    }

    /// The value; only on the loop's thread.
    public var value: Value {
        precondition(loop.inLoop, "LoopBound value used off its event loop")
        return _value
    }

    /// Runs `body` with the value on its loop. Thread-safe.
    public func execute(_ body: @escaping @Sendable (Value) -> Void) {
        let me = self
        loop.execute { body(me.value) }
    }
}
