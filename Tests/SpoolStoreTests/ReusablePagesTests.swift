import CLMDB
import Foundation
import Testing
@testable import SpoolStore

/// Space figures count only free-list pages a write can reuse now (`SpoolStore+ReusablePages`):
/// pages a long read pins are in use, so admission does not take mail the map cannot hold.
@Suite("Spool space: pages a long read pins are not free")
struct ReusablePagesTests {
    static let mib = 1 << 20

    @Test("a free-list record counts only when freed before the oldest snapshot in use")
    func rule() {
        let records: [(freedBy: UInt64, pages: Int)] = [(5, 10), (8, 20), (12, 40)]
        #expect(SpoolStore.reusablePages(records: records, lastCommitted: 13, readers: []) == 70)
        #expect(SpoolStore.reusablePages(records: records, lastCommitted: 12, readers: []) == 30,
                "the last commit's own frees wait for the next one (as mdb_page_alloc)")
        #expect(SpoolStore.reusablePages(records: records, lastCommitted: 13, readers: [13, 8]) == 10)
        #expect(SpoolStore.reusablePages(records: records, lastCommitted: 13, readers: [4]) == 0)
    }

    @Test("mdb_reader_list's text gives the readers' snapshots, idle slots left out")
    func readerList() {
        let text = "    pid     thread     txnid\n     12345 7f0a12345678 42\n     12345 7f0a12345679 -\n       777 7f0b00000001 40\n"
        #expect(SpoolStore.parseReaderList(text) == [42, 40])
        #expect(SpoolStore.parseReaderList("(no active readers)\n") == [])
    }

    /// Runs `body` in a write transaction of `env` on table "t" and commits.
    static func write(_ env: OpaquePointer, _ body: (OpaquePointer, MDB_dbi) -> Void) throws {
        var txnp: OpaquePointer?
        #expect(mdb_txn_begin(env, nil, 0, &txnp) == 0)
        let txn = try #require(txnp)
        var dbi: MDB_dbi = 0
        #expect(mdb_dbi_open(txn, "t", UInt32(MDB_CREATE), &dbi) == 0)
        body(txn, dbi)
        #expect(mdb_txn_commit(txn) == 0)
    }

    static func put(_ txn: OpaquePointer, _ dbi: MDB_dbi, _ key: String, size: Int) {
        var k = Array(key.utf8)
        var v = Array(repeating: UInt8(0x62), count: size)
        k.withUnsafeMutableBytes { kb in
            v.withUnsafeMutableBytes { vb in
                var key = MDB_val(mv_size: kb.count, mv_data: kb.baseAddress)
                var val = MDB_val(mv_size: vb.count, mv_data: vb.baseAddress)
                _ = mdb_put(txn, dbi, &key, &val, 0)
            }
        }
    }

    @Test("a held read transaction keeps deleted pages counted as used until it ends")
    func heldReadPinsPages() throws {
        let dir = NSTemporaryDirectory() + "sx-pinned-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try MapGrowthTests.open(dir, mapSize: 64 * Self.mib, max: 0)
        defer { store.close() }
        let env = store.env
        try Self.write(env) { txn, dbi in for i in 0..<40 { Self.put(txn, dbi, "k\(i)", size: 256 << 10) } }
        let full = try store.spaceUsage().used
        // A long read (a backup copy) begins, then everything is deleted and more is written.
        var readp: OpaquePointer?
        #expect(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &readp) == 0)
        let held = try #require(readp)
        try Self.write(env) { txn, dbi in for i in 0..<40 { Self.put(txn, dbi, "k\(i)", size: 0) } }
        try Self.write(env) { txn, dbi in Self.put(txn, dbi, "small", size: 10) }
        let pinned = try store.spaceUsage().used
        #expect(pinned >= full - Self.mib, "used \(pinned) bytes with the read held, \(full) before the delete")
        mdb_txn_abort(held)
        try Self.write(env) { txn, dbi in Self.put(txn, dbi, "small2", size: 10) }
        let released = try store.spaceUsage().used
        #expect(released <= full - 8 * Self.mib, "used \(released) bytes after the read ended, \(full) before the delete")
    }
}
