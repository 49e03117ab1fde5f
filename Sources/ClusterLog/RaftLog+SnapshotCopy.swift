import SpoolStore

/// The options of the spool copy a leader makes to stream as a snapshot.
extension RaftLog {
    /// Options for the compacted spool copy of `spool` sent as a snapshot: the same map size, a
    /// map allowed to grow (bodies kept in the log are copied in), and no fsync per commit. The
    /// copy is a scratch file read back through the page cache and removed after sending; the
    /// receiver fsyncs what it gets. Copying the bodies in synced batches of 256 took about three
    /// times as long (20,000 × 5 KB: 0.46–0.60 s against 0.14–0.22 s in a debug build), and the
    /// restarted follower accepts no mail until the snapshot is installed. Pure.
    static func snapshotCopyOptions(_ spool: SpoolStore.Options) -> SpoolStore.Options {
        var options = SpoolStore.Options(mapSize: spool.mapSize, durable: false)
        options.maxMapSize = max(spool.maxMapSize, spool.mapSize)
        return options
    }
}
