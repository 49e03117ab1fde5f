import CLMDB

extension SpoolStore {
    /// Table names, in the order of the handles returned by ``openEnvironment(directory:options:)``.
    static let tableNames = ["meta", "log", "messages", "bodies", "due", "events", "event_index", "suppression", "registry",
                                    "leases", "logbodies", "postponed"]

    /// Creates and opens the LMDB environment and its tables, checking (or, in a
    /// new store, recording) the layout version. Also returns the legacy postponed horizon (see
    /// `SpoolStore+PostponedIndex`: recorded when the postponed table is created in a store that
    /// already queues mail). On any failure the environment is closed again. Blocks for file I/O;
    /// called by `init` only.
    static func openEnvironment(directory: String, options: Options) throws -> (OpaquePointer, [MDB_dbi], Int64?) {
        var envp: OpaquePointer?
        let rc = mdb_env_create(&envp)
        guard rc == 0, let env = envp else { throw StoreError.lmdb(rc, "mdb_env_create") }
        func check(_ rc: Int32, _ what: String) throws {
            guard rc == 0 else { throw StoreError.lmdb(rc, "\(what) \(directory)") }
        }
        do {
            try check(mdb_env_set_mapsize(env, options.mapSize), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxdbs(env, MDB_dbi(tableNames.count + 4)), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders")
            var flags = UInt32(MDB_NOTLS)
            if !options.durable { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(env, directory, flags, 0o600), "mdb_env_open")
            var dead: Int32 = 0
            _ = mdb_reader_check(env, &dead)  // clear reader slots of killed processes

            var txnp: OpaquePointer?
            try check(mdb_txn_begin(env, nil, 0, &txnp), "mdb_txn_begin")
            guard let txn = txnp else { throw StoreError(.internalError, "no transaction", context: directory) }
            do {
                var dbis: [MDB_dbi] = []
                var createdPostponed = false
                for name in tableNames {
                    var dbi: MDB_dbi = 0
                    if name == "postponed", mdb_dbi_open(txn, name, 0, &dbi) == MDB_NOTFOUND { createdPostponed = true }
                    try check(mdb_dbi_open(txn, name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open \(name)")
                    dbis.append(dbi)
                }
                let t = LMDBTransaction(txn: txn)
                try checkSchema(t, meta: dbis[0], directory: directory)
                let legacy = try legacyPostponedHorizon(t, meta: dbis[0], due: dbis[4], created: createdPostponed)
                let rc = mdb_txn_commit(txn)
                txnp = nil
                try check(rc, "mdb_txn_commit (open)")
                return (env, dbis, legacy)
            } catch {
                if let txnp { mdb_txn_abort(txnp) }
                throw error
            }
        } catch {
            mdb_env_close(env)
            throw error
        }
    }

    /// Records the table layout version in a new store; refuses an incompatible one.
    private static func checkSchema(_ txn: LMDBTransaction, meta: MDB_dbi, directory: String) throws {
        if let v = try txn.get(meta, SpoolKeys.schema) {
            var r = BinaryReader(v, what: "schema version")
            let found = try r.u32()
            guard found == SpoolKeys.schemaVersion else {
                let newer = found > SpoolKeys.schemaVersion ? " (written by a newer sendarix: upgrade this node)" : ""
                throw StoreError(.corrupt, "store layout version \(found), this build reads \(SpoolKeys.schemaVersion)\(newer)",
                                 context: directory)
            }
        } else {
            var w = BinaryWriter(capacity: 4)
            w.u32(SpoolKeys.schemaVersion)
            try txn.put(meta, SpoolKeys.schema, w.bytes)
        }
    }
}
