import CLMDB

extension SpoolStore {
    /// Applies a batched postpone inside `txn`: each message that `SpoolMachine.postponed` changes
    /// is rewritten, its due-index entry moved and its postponed entry put (leased messages are left alone, so the lease
    /// table does not change). Never rejected; items naming an invalid or unknown queue ID are
    /// skipped. Throws only for storage failures.
    func applyPostpone(_ p: SpoolCommand.Postpone, in txn: LMDBTransaction) throws -> Result<Void, StoreError> {
        for item in p.items where SpoolKeys.isValidQueueID(item.queueID) {
            guard let v = try txn.get(dbMessages, SpoolKeys.message(item.queueID)),
                  let current = try? StoredMessage(decoding: v),
                  let moved = SpoolMachine.postponed(current, at: item.at, issuedAt: p.issuedAt, seen: item.seen) else { continue }
            if let oldDue = current.nextAttemptAt, let newDue = moved.nextAttemptAt, oldDue != newDue {
                try txn.delete(dbDue, SpoolKeys.due(oldDue, moved.queueID))
                try txn.put(dbDue, SpoolKeys.due(newDue, moved.queueID), [UInt8]())
            }
            try listPostponed(old: current, new: moved, in: txn)
            try txn.put(dbMessages, SpoolKeys.message(moved.queueID), moved.encoded())
        }
        return .success(())
    }

    /// Applies a batched pull inside `txn`: each message that `SpoolMachine.pulledForward` changes
    /// is rewritten, its due-index entry moved and its postponed entry deleted. Never rejected;
    /// items naming an invalid or unknown queue ID are skipped. Throws only for storage failures.
    func applyPullForward(_ p: SpoolCommand.PullForward, in txn: LMDBTransaction) throws -> Result<Void, StoreError> {
        for item in p.items where SpoolKeys.isValidQueueID(item.queueID) {
            guard let v = try txn.get(dbMessages, SpoolKeys.message(item.queueID)),
                  let current = try? StoredMessage(decoding: v),
                  let moved = SpoolMachine.pulledForward(current, at: p.at, seen: item.seen) else { continue }
            if let oldDue = current.nextAttemptAt, let newDue = moved.nextAttemptAt, oldDue != newDue {
                try txn.delete(dbDue, SpoolKeys.due(oldDue, moved.queueID))
                try txn.put(dbDue, SpoolKeys.due(newDue, moved.queueID), [UInt8]())
            }
            try unlistPostponed(old: current, new: moved, in: txn)
            try txn.put(dbMessages, SpoolKeys.message(moved.queueID), moved.encoded())
        }
        return .success(())
    }
}
