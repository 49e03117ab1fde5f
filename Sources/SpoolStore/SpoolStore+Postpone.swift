import CLMDB

extension SpoolStore {
    /// Applies a batched postpone inside `txn`: each message that `SpoolMachine.postponed` changes
    /// is rewritten, its due-index entry moved and its postponed entry put (leased messages are left alone, so the lease
    /// table does not change). Never rejected; items naming an invalid or unknown queue ID are
    /// skipped. Throws only for storage failures.
    func applyPostpone(_ p: SpoolCommand.Postpone, in txn: LMDBTransaction) throws -> Result<Void, StoreError> {
        try rewriteDue(p.items.map(\.queueID), in: txn, listing: listPostponed) { current, i in
            SpoolMachine.postponed(current, at: p.items[i].at, issuedAt: p.issuedAt, seen: p.items[i].seen)
        }
    }

    /// Applies a batched pull inside `txn`: each message that `SpoolMachine.pulledForward` changes
    /// is rewritten, its due-index entry moved and its postponed entry deleted. Never rejected;
    /// items naming an invalid or unknown queue ID are skipped. Throws only for storage failures.
    func applyPullForward(_ p: SpoolCommand.PullForward, in txn: LMDBTransaction) throws -> Result<Void, StoreError> {
        try rewriteDue(p.items.map(\.queueID), in: txn, listing: unlistPostponed) { current, i in
            SpoolMachine.pulledForward(current, at: p.at, seen: p.items[i].seen)
        }
    }

    /// Rewrites each message `change` changes (given the stored record and the item's position in
    /// `ids`): its due-index entry moves with its due time and `listing` updates the postponed
    /// table. Invalid or unknown queue IDs are skipped.
    private func rewriteDue(_ ids: [String], in txn: LMDBTransaction,
                            listing: (StoredMessage, StoredMessage, LMDBTransaction) throws -> Void,
                            change: (StoredMessage, Int) -> StoredMessage?) throws -> Result<Void, StoreError> {
        for (i, id) in ids.enumerated() where SpoolKeys.isValidQueueID(id) {
            guard let v = try txn.get(dbMessages, SpoolKeys.message(id)),
                  let current = try? StoredMessage(decoding: v),
                  let moved = change(current, i) else { continue }
            if let oldDue = current.nextAttemptAt, let newDue = moved.nextAttemptAt, oldDue != newDue {
                try txn.delete(dbDue, SpoolKeys.due(oldDue, moved.queueID))
                try txn.put(dbDue, SpoolKeys.due(newDue, moved.queueID), [UInt8]())
            }
            try listing(current, moved, txn)
            try txn.put(dbMessages, SpoolKeys.message(moved.queueID), moved.encoded())
        }
        return .success(())
    }
}
