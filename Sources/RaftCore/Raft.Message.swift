extension Raft {
    /// A message between Raft nodes. The shell sends the `messages` of a `Ready` to `to` (after
    /// persisting that `Ready`) and feeds received ones to `Raft.step`. Loss, duplication and
    /// reordering are tolerated. Encode with `encode()` / `Raft.Message.decode(_:)`.
    public struct Message: Equatable, Sendable {
        /// Message type.
        public enum Kind: UInt8, Sendable {
            /// Leader → follower: entries after (`index`, `logTerm`), leader `commit`.
            case appendEntries = 0
            /// Follower → leader: accepted up to `index`, or `reject` with hint (`rejectHint`, `logTerm`).
            case appendResponse = 1
            /// Candidate → voter: vote for me in `term`; my last entry is (`index`, `logTerm`).
            case requestVote = 2
            /// Voter → candidate: `reject == false` grants the vote.
            case voteResponse = 3
            /// Pre-candidate → voter: would you vote for me in `term` (not yet adopted)?
            case requestPreVote = 4
            /// Voter → pre-candidate.
            case preVoteResponse = 5
            /// Leader → follower: I am alive; commit up to `commit`.
            case heartbeat = 6
            /// Follower → leader.
            case heartbeatResponse = 7
            /// Leader → follower too far behind: replace your log with `snapshot`.
            case installSnapshot = 8
            /// Leader → transfer target: campaign now (leadership transfer).
            case timeoutNow = 9
            /// Follower → leader: request a read index for `context`.
            case readIndex = 10
            /// Leader → follower: the read index (`index`) for `context`.
            case readIndexResponse = 11
        }

        /// Message type.
        public var kind: Kind
        /// Sender id.
        public var from: UInt64
        /// Recipient id.
        public var to: UInt64
        /// Sender's term (or the proposed term for pre-vote).
        public var term: UInt64
        /// Term of the entry at `index` (append / vote), or the conflict term hint (reject).
        public var logTerm: UInt64 = 0
        /// Index: previous entry (append), last entry (vote), acknowledged or rejected index (response).
        public var index: UInt64 = 0
        /// Entries to append.
        public var entries: [Entry] = []
        /// Leader commit index.
        public var commit: UInt64 = 0
        /// Rejection flag for responses.
        public var reject: Bool = false
        /// On a rejected append: the follower's suggested index to retry from.
        public var rejectHint: UInt64 = 0
        /// On vote requests: campaign caused by leadership transfer (bypasses leader lease).
        public var isTransfer: Bool = false
        /// Snapshot for `.installSnapshot`.
        public var snapshot: Snapshot? = nil
        /// Read request id carried by read-index messages and the heartbeats that confirm them.
        public var context: [UInt8] = []

        /// Creates a message. Does not block; any caller.
        public init(kind: Kind, from: UInt64, to: UInt64, term: UInt64, logTerm: UInt64 = 0, index: UInt64 = 0,
                    entries: [Entry] = [], commit: UInt64 = 0, reject: Bool = false, rejectHint: UInt64 = 0,
                    isTransfer: Bool = false, snapshot: Snapshot? = nil, context: [UInt8] = []) {
            self.kind = kind
            self.from = from
            self.to = to
            self.term = term
            self.logTerm = logTerm
            self.index = index
            self.entries = entries
            self.commit = commit
            self.reject = reject
            self.rejectHint = rejectHint
            self.isTransfer = isTransfer
            self.snapshot = snapshot
            self.context = context
        }
    }
}
