extension ReplicatedLog {
    /// Proposes `command` and suspends until it is committed and applied;
    /// returns its log index or throws the ``StoreError`` the completion
    /// reported. Any task; never blocks a thread.
    public func propose(_ command: SpoolCommand) async throws(StoreError) -> UInt64 {
        let result: Result<UInt64, StoreError> = await withCheckedContinuation { continuation in
            propose(command) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }
}
