import CLMDB
import Glibc

/// Which free-list pages of an LMDB environment a write can reuse now.
///
/// LMDB keeps the pages a write transaction freed on its free list (database 0, keyed by the id of
/// the transaction that freed them) and reuses a record's pages only once no reader can still see
/// them: `mdb_page_alloc` takes a record freed by transaction `t` only when `t` is older than the
/// oldest snapshot in use (`mdb_find_oldest`: the oldest reader's transaction id, and the last
/// committed one). A long read (a backup or snapshot copy) thus pins everything freed after it
/// began: those pages are on the free list but a write cannot have them, so counting them as free
/// would admit mail the map cannot hold.
extension SpoolStore {
    /// Pages of the free-list `records` (the freeing transaction's id and the page count) that a
    /// write can reuse: those freed before the oldest of `lastCommitted` and `readers` (the
    /// snapshot transaction ids of the readers in use). Pure.
    public static func reusablePages(records: [(freedBy: UInt64, pages: Int)], lastCommitted: UInt64,
                                     readers: [UInt64]) -> Int {
        let oldest = min(lastCommitted, readers.min() ?? .max)
        return records.reduce(0) { $0 + ($1.freedBy < oldest ? $1.pages : 0) }
    }

    /// The snapshot transaction ids of `env`'s readers in use, from every process using it
    /// (`mdb_reader_list`; idle slots are left out). Any thread.
    public static func readerSnapshots(env: OpaquePointer) -> [UInt64] {
        final class Lines { var text = "" }
        let lines = Lines()
        _ = withExtendedLifetime(lines) {
            mdb_reader_list(env, { msg, ctx in
                guard let msg, let ctx else { return 0 }
                Unmanaged<Lines>.fromOpaque(ctx).takeUnretainedValue().text += String(cString: msg)
                return 0
            }, Unmanaged.passUnretained(lines).toOpaque())
        }
        return parseReaderList(lines.text)
    }

    /// The transaction ids in `mdb_reader_list`'s text (a header, then `pid thread txnid` per
    /// reader, `-` for an idle slot). Pure.
    static func parseReaderList(_ text: String) -> [UInt64] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 3, Int(fields[0]) != nil else { return nil }
            return UInt64(fields[2])
        }
    }
}
