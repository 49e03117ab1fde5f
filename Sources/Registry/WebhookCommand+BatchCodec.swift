/// The binary log forms of the batch-record commands (log entry format 5), after the
/// `0xB2 | version 1` header of `WebhookCommand+Codec`: kind 4, a batch lease (`endpoint | owner |
/// incarnation | issuedAt | expiresAt | formed firsts | fresh sequences | sizes | array`); kind 5,
/// batch results (`endpoint | owner | incarnation | results`, each `first | sequences | attempt |
/// verdict`). Pure; any thread.
extension WebhookCommand {
    static let batchLeaseKind: UInt8 = 4, batchResultsKind: UInt8 = 5

    static func encodeBatchLease(_ l: BatchLease) -> [UInt8] {
        var w = CallWriter(capacity: 64 + l.endpoint.utf8.count + l.owner.utf8.count + (l.formed.count + l.fresh.count) * 8
                           + l.sizes.count * 4)
        w.u8(binaryMagic)
        w.u8(binaryVersion)
        w.u8(batchLeaseKind)
        w.string(l.endpoint)
        w.string(l.owner)
        w.u64(l.incarnation)
        w.i64(l.issuedAt)
        w.i64(l.expiresAt)
        w.u32(UInt32(l.formed.count))
        for s in l.formed { w.u64(s) }
        w.u32(UInt32(l.fresh.count))
        for s in l.fresh { w.u64(s) }
        w.u32(UInt32(l.sizes.count))
        for n in l.sizes { w.u32(n) }
        w.u8(l.array ? 1 : 0)
        return w.bytes
    }

    static func decodeBatchLease(_ r: inout CallReader<[UInt8]>) throws -> BatchLease {
        let endpoint = try r.string(), owner = try r.string(), incarnation = try r.u64()
        let issuedAt = try r.i64(), expiresAt = try r.i64()
        let formed = try u64s(&r)
        let fresh = try u64s(&r)
        var sizes: [UInt32] = []
        for _ in 0..<(try r.count(minBytesEach: 4)) { sizes.append(try r.u32()) }
        let array = try r.u8()
        guard array <= 1 else { throw WebhookCallDecodingError(reason: "batch body flag \(array)") }
        return BatchLease(endpoint: endpoint, owner: owner, incarnation: incarnation, issuedAt: issuedAt, expiresAt: expiresAt,
                          formed: formed, fresh: fresh, sizes: sizes, array: array == 1)
    }

    static func encodeBatchResults(_ r: BatchResults) -> [UInt8] {
        var w = CallWriter(capacity: 64 + r.endpoint.utf8.count + r.owner.utf8.count + r.results.count * 96
                           + r.results.reduce(0) { $0 + $1.sequences.count * 8 })
        w.u8(binaryMagic)
        w.u8(binaryVersion)
        w.u8(batchResultsKind)
        w.string(r.endpoint)
        w.string(r.owner)
        w.u64(r.incarnation)
        w.u32(UInt32(r.results.count))
        for x in r.results {
            w.u64(x.first)
            w.u32(UInt32(x.sequences.count))
            for s in x.sequences { w.u64(s) }
            w.attempt(x.attempt)
            w.verdict(x.verdict)
        }
        return w.bytes
    }

    static func decodeBatchResults(_ r: inout CallReader<[UInt8]>) throws -> BatchResults {
        let endpoint = try r.string(), owner = try r.string(), incarnation = try r.u64()
        var results: [BatchResult] = []
        for _ in 0..<(try r.count(minBytesEach: 49)) {
            let first = try r.u64()
            let sequences = try u64s(&r)
            results.append(BatchResult(first: first, sequences: sequences, attempt: try r.attempt(), verdict: try r.verdict()))
        }
        return BatchResults(endpoint: endpoint, owner: owner, incarnation: incarnation, results: results)
    }

    private static func u64s(_ r: inout CallReader<[UInt8]>) throws -> [UInt64] {
        let n = try r.count(minBytesEach: 8)
        var out: [UInt64] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try r.u64()) }
        return out
    }
}
