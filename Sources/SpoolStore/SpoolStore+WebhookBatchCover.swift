import CLMDB
import Registry

extension SpoolStore {
    /// The batch records (log entry format 5) holding any call a per-call claim names, by key,
    /// read inside `txn`, for `RegistryMachine` to leave those calls alone: a call in a batch
    /// record goes only with its record. Empty for other commands. Seeks the endpoint's records to
    /// the greatest first sequence at or below the claim's lowest call and walks on up to its
    /// highest one, so the answer depends only on the stored records (every node alike). Throws a
    /// `.corrupt` error for a record that does not decode.
    func batchRecordsCovering(_ command: RegistryCommand, in txn: LMDBTransaction) throws -> [String: RegistryRecord] {
        guard case .webhook(let w) = command, case .claim(let c) = w, let low = c.sequences.min(),
              let high = c.sequences.max() else { return [:] }
        let wanted = Set(c.sequences)
        let prefix = Array(RegistryKeys.webhookBatchPrefix(c.endpoint).utf8)
        let cursor = try txn.cursor(dbRegistry)
        defer { cursor.close() }
        let lowKey = Array(RegistryKeys.webhookBatch(c.endpoint, low).utf8)
        var item = try cursor.seek(atLeast: lowKey)
        if !(item.map { $0.key.elementsEqual(lowKey) } ?? false) {
            // The record before `low` may hold it.
            let before = try cursor.get(item == nil ? MDB_LAST : MDB_PREV)
            if let before, before.key.starts(with: prefix) {
                item = before
            } else {
                item = try cursor.seek(atLeast: lowKey)
            }
        }
        var out: [String: RegistryRecord] = [:]
        while let cur = item, cur.key.starts(with: prefix) {
            let key = String(decoding: cur.key, as: UTF8.self)
            let record: RegistryRecord
            do {
                record = try Self.registryRecord(key: key, stored: cur.value)
            } catch {
                throw StoreError(.corrupt, "registry record \(key): \(error)", context: key)
            }
            if let b = record.webhookBatch {
                if b.first > high { break }
                if b.sequences.contains(where: wanted.contains) { out[key] = record }
            }
            item = try cursor.get(MDB_NEXT)
        }
        return out
    }
}
