import CLMDB
import Registry

extension SpoolStore {
    /// Endpoint `id`'s batch records, batch mark and up to `limit` due calls that are in no batch
    /// record and not in `skipping`, all read in one transaction, so that no batch record formed
    /// or retired between the reads makes its calls look loose (a call in a batch record goes only
    /// with its record, whatever the log entry format). While the due calls fill `limit` and
    /// `grow` names more calls to read (a batch formed per call that the read holds only part of),
    /// the read goes on, up to 65,536 calls. It looks at up to `scan` calls besides the skipped ones
    /// (those in batch records do not count). Any thread; one read transaction.
    public func webhookDueWork(_ id: String, now: Int64, skipping: Set<UInt64>, limit: Int, scan: Int = 4096,
                               grow: ([WebhookCall]) -> Int? = { _ in nil }) throws -> WebhookDueWork {
        try read { txn in
            let cursor = try txn.cursor(dbRegistry)
            defer { cursor.close() }
            let prefix = Array(RegistryKeys.webhookBatchPrefix(id).utf8)
            var batches: [WebhookBatch] = []
            var item = try cursor.seek(atLeast: prefix)
            while let cur = item, cur.key.starts(with: prefix) {
                if let b = try RegistryRecord(decoding: UnsafeRawBufferPointer(cur.value)).webhookBatch { batches.append(b) }
                item = try cursor.get(MDB_NEXT)
            }
            let mark = try txn.get(dbRegistry, Array(RegistryKeys.webhookMark(id).utf8))
                .flatMap { try RegistryRecord(decoding: UnsafeRawBufferPointer($0).map { $0 }).webhookMark }
            var skip = skipping
            for b in batches { skip.formUnion(b.sequences) }
            var limit = limit
            var due = try dueWebhookCalls(id, now: now, skipping: skip, limit: limit, scan: scan, in: txn)
            while due.count >= limit, let more = grow(due), more > 0, limit < 1 << 16 {
                limit += more
                due = try dueWebhookCalls(id, now: now, skipping: skip, limit: limit, scan: scan, in: txn)
            }
            return WebhookDueWork(batches: batches, mark: mark, due: due)
        }
    }
}
