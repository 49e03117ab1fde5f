extension DeliveryCoordinator {
    /// `oldest` (due-index order) and `newest` (most recently due first) taken in turns, starting
    /// with `newest` when `newestFirst`, each queue ID once: the claim order of a scheduler pass.
    /// While nothing is overdue both lists hold the same IDs and the order hardly matters; behind
    /// a backlog every other claim goes to the newest due mail (fresh mail is not starved) and the
    /// others to the oldest (the backlog is not starved either). Pure; any thread.
    static func interleaved(_ oldest: [String], _ newest: [String], newestFirst: Bool) -> [String] {
        guard !newest.isEmpty else { return oldest }
        var out: [String] = []
        out.reserveCapacity(oldest.count + newest.count)
        var seen = Set<String>()
        var i = 0, j = 0
        var takeNewest = newestFirst
        while i < oldest.count || j < newest.count {
            if takeNewest ? j < newest.count : i >= oldest.count {
                if seen.insert(newest[j]).inserted { out.append(newest[j]) }
                j += 1
            } else {
                if seen.insert(oldest[i]).inserted { out.append(oldest[i]) }
                i += 1
            }
            takeNewest.toggle()
        }
        return out
    }
}
