import CLMDB

/// Message bodies in the `bodies` table.
///
/// A body is stored as consecutive *segments* under `SpoolKeys.body(id, chunk: i)`, every
/// segment but the last exactly as long as segment 0, of ``SpoolStore/Options/bodySegmentSize``
/// bytes when written. The reader needs no format flag: the segment length is the length of
/// segment 0, so bodies written with any segment size (older spools and snapshots used 4080)
/// read and delete alike, whatever the current setting.
///
/// The default stays at one overflow page per segment (4080 bytes). One value per body (one leaf
/// entry, one run of contiguous overflow pages) was measured (`cluster/bench --only relaybytes`,
/// `SENDARIX_BODY_SEGMENT`): LMDB 0.9 then searches its freelist for contiguous runs of pages,
/// single-page allocations break the runs freed bodies leave, and the data file kept growing;
/// at 100 KB it wrote more per byte of mail and relayed slower than one-page segments.
extension SpoolStore {
    /// Default ``Options/bodySegmentSize``: one 4096-byte overflow page less LMDB's 16-byte page
    /// header, so each segment fills one page exactly and any free page can take it.
    public static let defaultBodySegmentSize = SpoolKeys.chunkSize

    /// Number of segments a body of `bodySize` bytes takes with segments of `segment` bytes.
    static func segmentCount(bodySize: Int, segment: Int) -> Int {
        bodySize == 0 ? 0 : (bodySize + segment - 1) / segment
    }

    /// Writes `body` as segments of ``Options/bodySegmentSize`` bytes.
    func putBody(_ body: [UInt8], queueID: String, in txn: LMDBTransaction) throws {
        let segment = max(1, options.bodySegmentSize)
        try body.withUnsafeBytes { all in
            var chunk = 0
            var offset = 0
            var key = SpoolKeys.body(queueID, chunk: 0)
            while offset < all.count {
                let end = min(offset + segment, all.count)
                SpoolKeys.setChunk(chunk, in: &key)
                try txn.put(dbBodies, key, UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                chunk += 1
                offset = end
            }
        }
    }

    /// Deletes every segment of a body of `bodySize` bytes, whatever segment size it was written with.
    func deleteBody(_ queueID: String, bodySize: Int, in txn: LMDBTransaction) throws {
        var key = SpoolKeys.body(queueID, chunk: 0)
        guard bodySize > 0, let first = try txn.get(dbBodies, key), first.count > 0 else { return }
        let count = Self.segmentCount(bodySize: bodySize, segment: first.count)
        for i in 0..<count {
            SpoolKeys.setChunk(i, in: &key)
            try txn.delete(dbBodies, key)
        }
    }

    /// Passes the segments of a body of `bodySize` bytes to `segment` in order, without copying
    /// (each buffer points into the map and is valid only during its call). Throws `.corrupt`
    /// when a segment is missing or the lengths do not add up to `bodySize`.
    func forEachBodySegment(_ queueID: String, bodySize: Int, in txn: LMDBTransaction,
                            _ segment: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard bodySize > 0 else { return }
        let cursor = try txn.cursor(dbBodies)
        defer { cursor.close() }
        var expected = SpoolKeys.body(queueID, chunk: 0)
        var item = try cursor.seek(atLeast: expected)
        guard let first = item, first.key.elementsEqual(expected), first.value.count > 0 else {
            throw StoreError(.corrupt, "body chunk 0 missing", context: queueID)
        }
        let count = Self.segmentCount(bodySize: bodySize, segment: first.value.count)
        var total = 0
        for i in 0..<count {
            SpoolKeys.setChunk(i, in: &expected)
            guard let cur = item, cur.key.elementsEqual(expected) else {
                throw StoreError(.corrupt, "body chunk \(i) missing", context: queueID)
            }
            total += cur.value.count
            try segment(cur.value)
            if i + 1 < count { item = try cursor.get(MDB_NEXT) }
        }
        guard total == bodySize else { throw StoreError(.corrupt, "body size mismatch", context: queueID) }
    }
}
