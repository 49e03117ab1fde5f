import Synchronization

/// The memory all SMTP sessions of a process may hold for message bodies they are receiving, shared
/// by every session (and every event loop). A session takes bytes as its body grows and gives them
/// back when the transaction ends; once the budget is spent, a new body is refused with a temporary
/// `452 4.3.1` instead of the process growing without bound while thousands of clients send 50 MB
/// messages at once. Thread-safe and lock-free; never blocks; any thread may call it.
public final class BodyMemoryBudget: Sendable {
    /// Total bytes sessions may hold.
    public let limit: Int
    private let used = Atomic<Int>(0)

    /// Creates a budget of `limit` bytes. Does not block.
    public init(limit: Int) {
        self.limit = max(0, limit)
    }

    /// Bytes currently held by sessions.
    public var inUse: Int { used.load(ordering: .relaxed) }

    /// Takes `bytes` from the budget and returns true, or takes nothing and returns false when they
    /// do not fit. Never blocks.
    public func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        var current = used.load(ordering: .relaxed)
        while true {
            guard current <= limit - bytes else { return false }
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes,
                                                             ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
    }

    /// Takes `bytes` even when they do not fit (for memory already in use that must be counted,
    /// such as input a client pipelined); `inUse` may then exceed `limit` and `reserve` fails until
    /// enough is released. Never blocks.
    public func take(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.add(bytes, ordering: .acquiringAndReleasing)
    }

    /// Gives back `bytes` taken by `reserve` or `take`. Never blocks.
    public func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        used.subtract(bytes, ordering: .acquiringAndReleasing)
    }
}
