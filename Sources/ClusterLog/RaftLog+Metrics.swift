import Synchronization

extension RaftLog {
    /// Times this process saw a new leader (a node became known as leader after none or another),
    /// for the metrics endpoint. One node runs per process. Any thread.
    public static let leaderChanges = Atomic<UInt64>(0)
}
