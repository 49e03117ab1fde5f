import CLMDB
import Foundation
import Testing
@testable import SpoolStore

/// A map size another process set is adopted within this process's maximum and the disk
/// (`SpoolStore+MapAdoption`).
@Suite("Spool map adoption is bounded")
struct MapAdoptionBoundTests {
    static let mib = 1 << 20

    @Test("the adopted size is the other process's, capped by the maximum and the disk, never below the pages written")
    func target() {
        typealias G = SpoolStore.MapGrowth
        let mib = Self.mib
        #expect(G.adoptTarget(metaMapSize: 32 * mib, extent: 9 * mib, currentMapSize: 4 * mib, maxMapSize: 0,
                              fileSize: 9 * mib, filesystemFree: nil) == 32 * mib)
        #expect(G.adoptTarget(metaMapSize: 1 << 40, extent: 9 * mib, currentMapSize: 4 * mib, maxMapSize: 64 * mib,
                              fileSize: 9 * mib, filesystemFree: nil) == 64 * mib)
        #expect(G.adoptTarget(metaMapSize: 1 << 40, extent: 9 * mib, currentMapSize: 4 * mib, maxMapSize: 0,
                              fileSize: 9 * mib, filesystemFree: 100 * mib) == 109 * mib, "the disk bounds it")
        #expect(G.adoptTarget(metaMapSize: 1 << 40, extent: 9 * mib, currentMapSize: 4 * mib, maxMapSize: 0,
                              fileSize: 9 * mib, filesystemFree: 0) == 9 * mib, "never below the pages written")
        #expect(G.adoptTarget(metaMapSize: 32 * mib, extent: 16 * mib, currentMapSize: 4 * mib, maxMapSize: 8 * mib,
                              fileSize: 16 * mib, filesystemFree: nil) == nil, "written past the maximum")
    }

    /// Writes `megabytes` MiB into the spool at `dir` through a second handle with map size
    /// `mapSize`, as another process would.
    static func otherWrites(_ dir: String, mapSize: Int, megabytes: Int) throws {
        var envp: OpaquePointer?
        #expect(mdb_env_create(&envp) == 0)
        let other = try #require(envp)
        defer { mdb_env_close(other) }
        #expect(mdb_env_set_mapsize(other, mapSize) == 0)
        #expect(mdb_env_set_maxdbs(other, 20) == 0)
        #expect(mdb_env_open(other, dir, UInt32(MDB_NOTLS | MDB_NOSYNC), 0o600) == 0)
        var txnp: OpaquePointer?
        #expect(mdb_txn_begin(other, nil, 0, &txnp) == 0)
        let txn = try #require(txnp)
        var dbi: MDB_dbi = 0
        #expect(mdb_dbi_open(txn, "other", UInt32(MDB_CREATE), &dbi) == 0)
        var value = Array(repeating: UInt8(0x61), count: 1 << 20)
        for i in 0..<megabytes {
            var k = Array("k\(i)".utf8)
            let rc = k.withUnsafeMutableBytes { kb in
                value.withUnsafeMutableBytes { vb in
                    var key = MDB_val(mv_size: kb.count, mv_data: kb.baseAddress)
                    var val = MDB_val(mv_size: vb.count, mv_data: vb.baseAddress)
                    return mdb_put(txn, dbi, &key, &val, 0)
                }
            }
            #expect(rc == 0)
        }
        #expect(mdb_txn_commit(txn) == 0)
    }

    @Test("the meta page's map size is read back as written")
    func metaMapSize() throws {
        let dir = NSTemporaryDirectory() + "sx-adopt-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try MapGrowthTests.open(dir, mapSize: 4 * Self.mib, max: 0)
        defer { store.close() }
        try Self.otherWrites(dir, mapSize: 24 * Self.mib, megabytes: 1)
        #expect(SpoolStore.MapGrowth.metaMapSize(env: store.env) == 24 * Self.mib)
    }

    @Test("another process set a huge map: this store adopts no more than its maximum, and keeps working")
    func hugeSizeCapped() async throws {
        let dir = NSTemporaryDirectory() + "sx-adopt-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try MapGrowthTests.open(dir, mapSize: 4 * Self.mib, max: 64 * Self.mib)
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        #expect(await log.proposeAndWait(makeEnqueue("first")).isSuccess)
        try Self.otherWrites(dir, mapSize: 1 << 40, megabytes: 8)
        #expect(try store.message(id: "first") != nil)
        let size = try store.spaceUsage().mapSize
        #expect(size == 64 * Self.mib, "adopted \(size) bytes")
        #expect(await log.proposeAndWait(makeEnqueue("second")).isSuccess)
    }

    @Test("another process wrote past this store's maximum: reads and writes fail with a storage error, nothing is mapped past it")
    func pastMaximumFailsCleanly() async throws {
        let dir = NSTemporaryDirectory() + "sx-adopt-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try MapGrowthTests.open(dir, mapSize: 4 * Self.mib, max: 8 * Self.mib)
        defer { store.close() }
        let log = try LocalLog(store: store)
        defer { log.stop() }
        #expect(await log.proposeAndWait(makeEnqueue("first")).isSuccess)
        try Self.otherWrites(dir, mapSize: 64 * Self.mib, megabytes: 16)
        #expect(throws: StoreError.self) { _ = try store.message(id: "first") }
        #expect(await !log.proposeAndWait(makeEnqueue("second")).isSuccess)
        var info = MDB_envinfo()
        mdb_env_info(store.env, &info)
        #expect(Int(info.me_mapsize) <= 8 * Self.mib, "mapped \(info.me_mapsize) bytes")
    }
}
