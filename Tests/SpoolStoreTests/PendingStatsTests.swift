import Testing
@testable import SpoolStore

/// Deferred event counts (`SpoolStore+PendingStats.swift`): what readers see must not depend on
/// whether increments are still pending or were added to the stored counts.
@Suite("Deferred event counts")
struct PendingStatsTests {
    static let t0 = EventSearchTests.t0

    /// Every count a reader can ask for: each resolution and dimension, and the latency buckets.
    static func snapshot(_ store: SpoolStore) throws -> [String] {
        let from = t0 - 86_400_000
        let to = t0 + 2 * 86_400_000
        var out: [String] = []
        for resolution in [EventStats.Resolution.minute, .hour, .day] {
            for dimension in [EventStats.Dimension.all, .tenant, .recipientDomain, .sourceIP, .pool, .sendingIP]
            where resolution != .minute || dimension.hasMinutes {
                for row in try store.eventCounts(from: from, to: to, resolution: resolution, dimension: dimension) {
                    out.append("\(resolution) \(dimension) \(row.bucketStart) \(row.key) \(row.type) \(row.count)")
                }
            }
        }
        for (bucket, n) in try store.deliveryLatencyBuckets(from: from, to: to).sorted(by: { $0.key < $1.key }) {
            out.append("latency \(bucket) \(n)")
        }
        return out
    }

    static func pending(_ store: SpoolStore) throws -> (entries: Int, bytes: Int) {
        try store.read { txn in
            (try store.pendingStats(in: txn).count, try txn.get(store.dbMeta, SpoolStore.pendingStatsKey)?.count ?? 0)
        }
    }

    @Test("with deltas pending, flushed by size and by index batch, counts equal those bumped in every commit; they survive a reopen")
    func sameCountsAsImmediate() async throws {
        let immediate = try await EventSearchTests().populated(eventIndexBatch: 1, deferEventCounts: false)
        let deferred = try await EventSearchTests().populated(eventIndexBatch: 100, deferEventCounts: true)
        let expected = try Self.snapshot(immediate.1)
        #expect(expected.count > 100)
        #expect(expected.contains { $0.hasPrefix("latency") })
        let pending = try Self.pending(deferred.1)
        #expect(pending.entries > 0, "the test must read pending deltas")
        #expect(pending.bytes <= SpoolStore.pendingStatsLimit)
        #expect(try Self.pending(immediate.1).entries == 0)
        #expect(try Self.snapshot(deferred.1) == expected)

        deferred.2.stop()
        deferred.1.close()
        let reopened = try SpoolStore(directory: deferred.0.path)
        #expect(try Self.pending(reopened).entries == pending.entries)
        #expect(try Self.snapshot(reopened) == expected)
        immediate.2.stop()
    }

    @Test("pruning counts adds the pending deltas first: pruned buckets do not come back with a later flush")
    func pruneFlushesFirst() async throws {
        var stores: [(TempDirectory, SpoolStore, LocalLog)] = []
        for deferCounts in [false, true] {
            let s = try await EventSearchTests().populated(eventIndexBatch: 1_000_000, deferEventCounts: deferCounts)
            _ = try await s.2.proposeAndWait(.pruneEvents(.init(before: Self.t0 + 3_600_000 * 4))).get()
            // More events, and a flush of everything pending (a search-index batch).
            _ = try await s.2.proposeAndWait(makeEnqueue("LATE", at: Self.t0 + 3_600_000 * 5)).get()
            s.2.stop()
            try s.1.importEvents([], firstIndex: 1_000_000)  // indexes the tail, which flushes the deltas
            stores.append(s)
        }
        #expect(try Self.pending(stores[1].1).entries == 0)
        let expected = try Self.snapshot(stores[0].1)
        #expect(!expected.isEmpty)
        #expect(!expected.contains { $0.hasPrefix("hour all \(Self.t0 - Self.t0 % 3_600_000) ") })
        #expect(try Self.snapshot(stores[1].1) == expected)
    }
}
