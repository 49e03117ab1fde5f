import SpoolStore

/// The scheduler's walk over the due index for *fresh* mail: messages received since their
/// destination came back after an outage (see `RecoveryDrain`), which the scheduler claims before
/// the backlog. A cursor moves forward through entries due since the earliest recovery; entries of
/// the last `lagMillis` are looked at again (an enqueue can commit a little after its due time), an
/// ID once only. Memory: at most `maxWaiting` candidates plus the IDs of the lag window. Confined
/// to the scheduler's queue (a value it keeps).
struct FreshWalk {
    /// Entries due within this many ms of now are read again on the next walk.
    static let lagMillis: Int64 = 2_000
    /// Most candidates kept.
    static let maxWaiting = 4_096
    /// Most entries read per walk.
    static let readsPerWalk = 2_048
    /// Shortest spacing of two walks (ms).
    static let spacingMillis: Int64 = 100

    /// The last entry read that is older than the lag window.
    var cursor: SpoolStore.DuePosition?
    /// Fresh candidates not tried yet, oldest first.
    private(set) var waiting: [String] = []
    private var waitingSet = Set<String>()
    /// IDs read in the lag window (and their due times), so each is read once.
    var seen: [String: Int64] = [:]
    /// When the last walk ran (ms since the epoch).
    var lastWalk: Int64 = 0
    /// Fresh candidates claimed (figures and tests).
    private(set) var claimedTotal = 0

    /// Adds a candidate (ignored when full or known).
    mutating func add(_ id: String) {
        guard waiting.count < Self.maxWaiting, waitingSet.insert(id).inserted else { return }
        waiting.append(id)
    }

    /// `id` was offered to a claim (claimed or not): it is no longer a candidate.
    mutating func tried(_ id: String, claimed: Bool) {
        guard waitingSet.remove(id) != nil else { return }
        waiting.removeAll { $0 == id }
        if claimed { claimedTotal += 1 }
    }

    /// Forgets the walk (no destination is draining).
    mutating func reset() {
        guard cursor != nil || !waiting.isEmpty || !seen.isEmpty else { return }
        cursor = nil
        waiting = []
        waitingSet = []
        seen = [:]
    }

    /// Drops the seen IDs the cursor has passed.
    mutating func pruneSeen() {
        guard seen.count > 1_024, let at = cursor?.at else { return }
        seen = seen.filter { $0.value > at }
    }
}
