extension Raft.Message {
    /// Largest term or index a peer may send: 2^62. A correct cluster never gets there (at a million
    /// entries a second that takes 146,000 years); refusing more keeps `term + 1`, `index + 1` and
    /// `index + entries.count` from overflowing in the state machine.
    public static let maxTermOrIndex: UInt64 = 1 << 62
    /// Largest read-index `context` a peer may send.
    public static let maxContextBytes = 4096

    /// Why no correct peer could have sent this message, judged on the message alone; nil when it is
    /// well formed. `Raft.step` drops (and counts) messages with a reason; the peer transport checks
    /// it right after decoding to log the reason with the peer's name. Pure; any caller.
    ///
    /// Checked: a non-zero sender other than the recipient; terms and indexes at most
    /// `maxTermOrIndex`; `logTerm` not above `term`; entries only on `.appendEntries`, numbered
    /// consecutively from `index + 1`, with non-zero, non-decreasing terms from `logTerm` up to
    /// `term`; a snapshot exactly on `.installSnapshot`, with a non-zero index and term (not above
    /// `term`) and a membership of distinct non-zero ids with at least one voter; a bounded context.
    public var malformation: String? {
        if from == 0 { return "sender id 0" }
        if from == to { return "sender \(from) is the recipient" }
        let limit = Self.maxTermOrIndex
        for (name, value) in [("term", term), ("logTerm", logTerm), ("index", index), ("commit", commit),
                              ("rejectHint", rejectHint)] where value > limit {
            return "\(name) \(value) above the limit \(limit)"
        }
        if logTerm > term { return "logTerm \(logTerm) above the message term \(term)" }
        if context.count > Self.maxContextBytes {
            return "context of \(context.count) bytes (limit \(Self.maxContextBytes))"
        }
        if let why = entriesMalformation { return why }
        return snapshotMalformation
    }

    private var entriesMalformation: String? {
        guard !entries.isEmpty else { return nil }
        guard kind == .appendEntries else { return "\(kind) message carries \(entries.count) entries" }
        if UInt64(entries.count) > Self.maxTermOrIndex - index {
            return "\(entries.count) entries after index \(index) pass the limit \(Self.maxTermOrIndex)"
        }
        var previousTerm = logTerm
        for (i, e) in entries.enumerated() {
            let expected = index + 1 + UInt64(i)
            if e.index != expected {
                return "entry \(i) has index \(e.index), expected \(expected) (entries follow index \(index) consecutively)"
            }
            if e.term == 0 { return "entry \(e.index) has term 0" }
            if e.term < previousTerm {
                return "entry \(e.index) has term \(e.term), below the term \(previousTerm) before it"
            }
            if e.term > term { return "entry \(e.index) has term \(e.term), above the message term \(term)" }
            previousTerm = e.term
        }
        return nil
    }

    private var snapshotMalformation: String? {
        guard let s = snapshot else {
            return kind == .installSnapshot ? "installSnapshot without a snapshot" : nil
        }
        guard kind == .installSnapshot else { return "\(kind) message carries a snapshot" }
        if s.index == 0 || s.index > Self.maxTermOrIndex { return "snapshot index \(s.index) out of range" }
        if s.term == 0 || s.term > term { return "snapshot term \(s.term) not in 1...\(term)" }
        let voters = s.confState.voters
        let learners = s.confState.learners
        if voters.isEmpty { return "snapshot membership has no voters" }
        let all = voters + learners
        if all.contains(0) { return "snapshot membership contains node id 0" }
        if Set(all).count != all.count { return "snapshot membership lists a node twice" }
        return nil
    }
}
